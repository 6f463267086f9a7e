#include "gui/app/jobs.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <set>

#include "engine/dataset.h"
#include "engine/dataset_source.h"
#include "engine/error.h"
#include "engine/idx.h"
#include "engine/preprocess.h"
#include "engine/quantize.h"
#include "gui/models/stage_style.h"
#include "profiler/cpu_clock_recorder.h"
#include "profiler/stats.h"

namespace swinscope::gui {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// N(0, 1) input, as the CLI's profile and bench use: timing needs no real images, and
// the same seed gives A and B the same numbers.
std::vector<float> randomInput(const SwinConfig& c, int batch, unsigned seed) {
  std::vector<float> input(static_cast<std::size_t>(batch) * static_cast<std::size_t>(c.in_chans) *
                           static_cast<std::size_t>(c.img_size) * static_cast<std::size_t>(c.img_size));
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  for (auto& v : input) v = nd(rng);
  return input;
}

Model makeRandomModel(const RandomSpec& spec, const JobToken& token) {
  SwinConfig cfg = spec.config ? *spec.config : SwinConfig::preset(spec.preset);
  Model fp32 = init_random_model(cfg, spec.activation, spec.seed);
  if (!spec.int8 || token.cancelled()) return fp32;
  // Calibrated on two random images: the scales are meaningless for accuracy but give the
  // int8 plan realistic work, which is all latency measurements need.
  QuantizeOptions qo;
  qo.images = 2;
  qo.seed = spec.seed;
  qo.data = "random N(0,1)";
  Calibrator cal(fp32, qo);
  const auto input = randomInput(cfg, 2, static_cast<unsigned>(spec.seed) + 11);
  cal.observe(input.data(), 2);
  Model q = quantize_model(fp32, cal.amax(), qo);
  return q;
}

}  // namespace

// ---- RandomSpec ----

QString RandomSpec::label() const {
  const QString arch = config ? QString::fromStdString(config->name) : QString::fromStdString(preset);
  return QStringLiteral("random %1 · %2 · %3")
      .arg(arch, activation == Activation::GELU ? QStringLiteral("GELU") : QStringLiteral("ReLU"),
           int8 ? QStringLiteral("int8") : QStringLiteral("fp32"));
}

QString RandomSpec::toText() const {
  return QStringLiteral("random:%1:%2:%3")
      .arg(QString::fromStdString(config ? config->name : preset), activation == Activation::GELU ? QStringLiteral("gelu") : QStringLiteral("relu"),
           int8 ? QStringLiteral("int8") : QStringLiteral("fp32"));
}

std::optional<RandomSpec> RandomSpec::fromText(const QString& text, QString* error) {
  const QStringList parts = text.split(QLatin1Char(':'));
  auto fail = [&](const QString& why) {
    if (error) *error = why;
    return std::optional<RandomSpec>();
  };
  if (parts.size() < 2 || parts.size() > 4 || parts[0] != QLatin1String("random"))
    return fail(QObject::tr("'%1': expected random:ARCH[:gelu|relu][:fp32|int8]").arg(text));
  RandomSpec s;
  s.preset = parts[1].toStdString();
  const auto presets = SwinConfig::preset_names();
  if (std::find(presets.begin(), presets.end(), s.preset) == presets.end()) {
    QStringList names;
    for (const auto& p : presets) names << QString::fromStdString(p);
    return fail(QObject::tr("'%1': unknown architecture '%2' (valid: %3)").arg(text, parts[1], names.join(QStringLiteral(", "))));
  }
  for (int i = 2; i < parts.size(); ++i) {
    const QString p = parts[i].toLower();
    if (p == QLatin1String("gelu")) s.activation = Activation::GELU;
    else if (p == QLatin1String("relu")) s.activation = Activation::ReLU;
    else if (p == QLatin1String("int8")) s.int8 = true;
    else if (p == QLatin1String("fp32")) s.int8 = false;
    else return fail(QObject::tr("'%1': '%2' is neither gelu, relu, fp32 nor int8").arg(text, parts[i]));
  }
  return s;
}

// ---- loading ----

LoadedSlot runLoad(const LoadRequest& request, const JobToken& token) {
  const auto t0 = Clock::now();
  LoadedSlot out;
  out.slot = request.slot;
  out.backendRequest = request.backendRequest;
  if (request.model) {
    out.model = request.model;
    out.source = request.source;
    out.label = request.label;
  } else if (request.random) {
    out.model = std::make_shared<const Model>(makeRandomModel(*request.random, token));
    out.source = request.random->toText();
    out.label = request.random->label();
  } else {
    if (request.path.isEmpty()) throw Error("no model file given");
    out.model = std::make_shared<const Model>(load_model(request.path.toStdString()));
    out.source = request.path;
    out.label = QFileInfo(request.path).fileName();
  }
  if (token.cancelled()) return out;
  out.backend = choose_backend(request.backendRequest.toStdString());
  out.variant = request.variant ? *request.variant : default_variant(*out.model);
  PlanOptions po;
  po.variant = out.variant;
  po.backend = out.backend.backend;
  po.max_batch = 1;
  auto plans = std::make_shared<PlanCache>(out.model, po);
  // A model that loads but cannot run as asked (an unsupported variant, a backend without
  // plans) still shows its details; the slot says why it cannot run.
  try {
    plans->build(1);
    out.kernels = plans->kernels();
    out.plans = std::move(plans);
  } catch (const std::exception& e) {
    out.planError = QString::fromUtf8(e.what());
  }
  out.seconds = secondsSince(t0);
  return out;
}

// ---- classification ----

namespace {

QImage thumbnailOf(const Image8& img, int size) {
  const QImage view(img.pixels.data(), img.width, img.height, img.width * 3, QImage::Format_RGB888);
  if (img.width <= size && img.height <= size) return view.copy();
  return view.scaled(size, size, Qt::KeepAspectRatio, Qt::SmoothTransformation);
}

}  // namespace

QImage makeThumbnail(const QString& path, int size) {
  return thumbnailOf(load_image(path.toStdString(), 3), size);
}

void runClassify(const ClassifyRequest& request, const JobToken& token, const std::function<void(ClassifyChunk)>& emitChunk) {
  const int total = static_cast<int>(request.paths.size());
  const int chunk = std::max(1, request.chunk);
  std::set<int> warmed[2];  // batch sizes each slot has run once, untimed
  for (int first = 0; first < total; first += chunk) {
    if (token.cancelled()) return;
    ClassifyChunk c;
    c.total = total;
    c.done = std::min(total, first + chunk);
    std::vector<std::filesystem::path> ok;
    for (int i = first; i < c.done; ++i) {
      ClassifyItem item;
      item.path = request.paths[i];
      if (request.thumbnails) {
        try {
          item.thumbnail = makeThumbnail(item.path, request.thumbnailPx);
        } catch (const std::exception& e) {
          item.error = QString::fromUtf8(e.what());
        }
      }
      if (item.error.isEmpty()) ok.push_back(item.path.toStdString());
      c.items.push_back(std::move(item));
    }
    for (const auto& run : request.models) {
      const int s = run.slot;
      c.ran[s] = true;
      c.generation[s] = run.generation;
      if (ok.empty()) continue;
      if (!run.plans) {
        for (auto& item : c.items) item.slotError[s] = QObject::tr("model %1 cannot run").arg(slotName(s));
        continue;
      }
      const int n = static_cast<int>(ok.size());
      // The first forward of a batch size is cold (primitives, caches, page faults: 0.56 ms
      // against 0.20 ms warm on the bundled model): one untimed pass per slot and batch size first.
      if (warmed[s].insert(n).second)
        run.plans->use(n, [&](Plan& plan) {
          const auto input = randomInput(run.model->config, n, 1);
          std::vector<float> logits(static_cast<std::size_t>(n) * static_cast<std::size_t>(run.model->config.num_classes));
          plan.run(input.data(), n, logits.data());
          return 0;
        });
      const ClassifyResult r = run.plans->use(n, [&](Plan& plan) { return classify_images(plan, *run.model, ok, request.topk, n); });
      const double perImageMs = r.predictions.empty() ? -1 : 1000.0 * r.seconds / static_cast<double>(r.predictions.size());
      for (const auto& p : r.predictions)
        for (auto& item : c.items)
          if (item.path.toStdString() == p.path.string()) {
            item.top[s] = p.top;
            item.latencyMs[s] = perImageMs;
            item.batch[s] = n;
          }
      for (const auto& k : r.skipped)
        for (auto& item : c.items)
          if (item.path.toStdString() == k.path.string()) {
            // Without a thumbnail pass the decode error surfaces here first.
            if (request.thumbnails) item.slotError[s] = QString::fromStdString(k.reason);
            else item.error = QString::fromStdString(k.reason);
          }
    }
    emitChunk(std::move(c));
  }
}

// ---- evaluation ----

EvalOutcome runEvaluate(const EvalRequest& request, const JobToken& token,
                        const std::function<void(const EvalProgressInfo&)>& progress) {
  EvalOutcome out;
  out.dataDir = request.dataDir;
  struct Prepared {
    const SlotRun* run = nullptr;
    Dataset data;
    long total = 0;
  };
  std::vector<Prepared> prep;
  // The check the CLI's eval and compare run (engine/dataset_source.h): every form they accept.
  std::optional<std::filesystem::path> labels;
  if (!request.labelsFile.isEmpty()) labels = QFile::encodeName(request.labelsFile).toStdString();
  const DatasetSource source = check_dataset_source(QFile::encodeName(request.dataDir).toStdString(), labels);
  const QString datasetName = QString::fromStdString(source.name);
  QString firstError;
  for (const auto& run : request.models) {
    if (!run.plans) {
      out.error[run.slot] = QObject::tr("model %1 cannot run (see its slot)").arg(slotName(run.slot));
      if (firstError.isEmpty()) firstError = out.error[run.slot];
      continue;
    }
    try {
      Prepared p;
      p.run = &run;
      EvalProgressInfo opening;
      opening.phase = QObject::tr("Reading %1…").arg(datasetName);
      progress(opening);
      p.data = open_dataset_source(source, run.model->classes);
      if (auto w = class_count_mismatch(p.data, run.model->classes, slotName(run.slot).toStdString() + " (" + run.label.toStdString() + ")")) {
        EvalProgressInfo warn;
        warn.phase = opening.phase;
        warn.warning = QString::fromStdString(*w);
        progress(warn);
        out.notes << warn.warning;
      }
      const long n = static_cast<long>(p.data.images.size());
      p.total = request.limit > 0 ? std::min(request.limit, n) : n;
      for (const auto& note : p.data.notes)
        if (!out.notes.contains(QString::fromStdString(note))) out.notes << QString::fromStdString(note);
      if (out.dataset.isEmpty())
        out.dataset = QObject::tr("%1 (%2, %3 images)")
                          .arg(datasetName, QString::fromStdString(p.data.layout))
                          .arg(p.total);
      prep.push_back(std::move(p));
    } catch (const std::exception& e) {
      out.error[run.slot] = QString::fromUtf8(e.what());
      if (firstError.isEmpty()) firstError = out.error[run.slot];
    }
  }
  if (prep.empty()) throw Error(firstError.isEmpty() ? std::string("no model to evaluate") : firstError.toStdString());

  for (std::size_t i = 0; i < prep.size(); ++i) {
    if (token.cancelled()) return out;
    const auto& p = prep[i];
    long later = 0;
    for (std::size_t j = i + 1; j < prep.size(); ++j) later += prep[j].total;
    auto last = Clock::now() - std::chrono::seconds(1);
    auto fn = [&](const Progress& pr) {
      // A tiny model finishes a batch every few microseconds; the UI needs ~10 updates/s.
      const auto now = Clock::now();
      if (pr.done < pr.total && now - last < std::chrono::milliseconds(100)) return;
      last = now;
      EvalProgressInfo info;
      info.slot = p.run->slot;
      info.done = pr.done;
      info.total = pr.total;
      info.imagesPerS = pr.images_per_s;
      info.etaS = pr.eta_s + (pr.images_per_s > 0 ? static_cast<double>(later) / pr.images_per_s : 0);
      info.slotIndex = static_cast<int>(i);
      info.slotCount = static_cast<int>(prep.size());
      progress(info);
    };
    EvalSlotResult r;
    r.model = p.run->label;
    r.variant = p.run->variant;
    r.device = p.run->device;
    r.classNames = p.run->model->classes;
    // Both batch sizes this run uses (the full one and the last, partial one) build their
    // primitives before the clock starts, so images/s is not charged for them.
    const int full = static_cast<int>(std::min<long>(std::max(1, request.batch), std::max(1L, p.total)));
    if (const int rest = static_cast<int>(p.total % full); rest > 0) p.run->plans->use(rest, [](Plan&) { return 0; });
    r.result = p.run->plans->use(full, [&](Plan& plan) {
      return evaluate(plan, *p.run->model, p.data, full, request.limit, fn, token.flag());
    });
    if (token.cancelled() || r.result.cancelled) return out;
    for (long k = 0; k < p.total; ++k) {
      r.images.push_back(p.data.images[static_cast<std::size_t>(k)].path);
      r.labels.push_back(p.data.images[static_cast<std::size_t>(k)].label);
    }
    out.result[p.run->slot] = std::move(r);
  }
  // The images A and B disagree on, as the Flipped images list shows them: decoded here, where
  // the dataset (files or IDX pixels) is at hand.
  if (out.result[0] && out.result[1] && !prep.empty()) {
    const Dataset& data = prep.front().data;
    int made = 0;
    for (const FlippedImage& f : flippedImages(*out.result[0], *out.result[1])) {
      if (token.cancelled() || made >= kMaxFlippedThumbnails) break;
      try {
        out.thumbnails.insert(f.path, thumbnailOf(load_dataset_image(data, static_cast<std::size_t>(f.index), 3), 64));
        ++made;
      } catch (const std::exception&) {
        // An image that decoded for the models but not here is listed without a thumbnail.
      }
    }
  }
  return out;
}

// ---- profiling ----

namespace {

// One plan under the profiler: random input, its recorder, and the unrecorded runs' times.
struct ProfiledPlan {
  Plan* plan = nullptr;
  QString name;  // for progress: "A", "A int8-ivit"
  std::vector<float> input;
  std::vector<float> logits;
  std::unique_ptr<profiler::TraceRecorder> recorder;  // make_trace_recorder: CUDA events for a CUDA plan
  std::vector<double> unrecorded;

  ProfiledPlan(Plan& p, QString n, const SwinConfig& c, int batch)
      : plan(&p), name(std::move(n)), input(randomInput(c, batch, 7)),
        logits(static_cast<std::size_t>(batch) * static_cast<std::size_t>(c.num_classes)), recorder(make_trace_recorder(p)) {}

  double timed(int batch, profiler::Recorder* rec) {
    const auto t0 = Clock::now();
    plan->run(input.data(), batch, logits.data(), rec);
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  }

  // The trace of the recorded runs, with the median unrecorded forward as the end-to-end latency.
  profiler::Trace take(profiler::TraceContext ctx) {
    ctx.variant = std::string(variant_name(plan->variant()));
    ctx.backend = std::string(backend_name(plan->backend()));
    auto trace = recorder->take_trace(ctx);
    trace.end_to_end_us_unrecorded = profiler::summarize(unrecorded).median;
    return trace;
  }
};

// Warm-up, then `runs` rounds in which the plans take turns, each recorded run next to an
// unrecorded one, so drift on a busy machine (turbo, other processes) hits every plan alike.
// False when cancelled.
bool profileInTurns(const std::vector<ProfiledPlan*>& plans, int batch, int runs, int warmup, const JobToken& token,
                    const std::function<void(const ProfileProgressInfo&)>& progress) {
  const int totalRuns = runs * static_cast<int>(plans.size());
  for (auto* l : plans) {
    if (token.cancelled()) return false;
    progress({0, totalRuns, QObject::tr("warming up %1").arg(l->name)});
    // One recorded run sizes the recorder; the measured runs then allocate nothing.
    l->recorder->begin_run(0);
    l->timed(batch, l->recorder.get());
    l->recorder->end_run();
    l->recorder->clear();
    l->recorder->reserve_runs(runs);
    for (int i = 0; i < warmup && !token.cancelled(); ++i) l->timed(batch, nullptr);
  }
  int done = 0;
  for (int r = 0; r < runs; ++r) {
    for (auto* l : plans) {
      if (token.cancelled()) return false;
      l->unrecorded.push_back(l->timed(batch, nullptr));
      l->recorder->begin_run(r);
      l->timed(batch, l->recorder.get());
      l->recorder->end_run();
      progress({++done, totalRuns, QObject::tr("run %1 of %2").arg(r + 1).arg(runs)});
    }
  }
  return true;
}

}  // namespace

ProfileOutcome runProfile(const ProfileRequest& request, const JobToken& token,
                          const std::function<void(const ProfileProgressInfo&)>& progress) {
  ProfileOutcome out;
  struct Live {
    const SlotRun* run = nullptr;
    PlanCache::Handle handle;
    std::unique_ptr<ProfiledPlan> profiled;
  };
  const int batch = std::max(1, request.batch);
  std::vector<std::unique_ptr<Live>> live;
  for (const auto& run : request.models) {
    if (!run.plans) {
      out.error[run.slot] = QObject::tr("model %1 cannot run (see its slot)").arg(slotName(run.slot));
      continue;
    }
    for (const auto& l : live)
      if (l->run->plans == run.plans) throw Error("A and B share one plan; load the model into each slot separately");
    auto l = std::make_unique<Live>();
    l->run = &run;
    progress({0, request.runs * static_cast<int>(request.models.size()), QObject::tr("building the %1 plan for batch %2").arg(slotName(run.slot)).arg(batch)});
    try {
      l->handle = run.plans->acquire(batch);
    } catch (const std::exception& e) {
      out.error[run.slot] = QString::fromUtf8(e.what());
      continue;
    }
    l->profiled = std::make_unique<ProfiledPlan>(*l->handle.plan, slotName(run.slot), run.model->config, batch);
    live.push_back(std::move(l));
  }
  if (live.empty()) {
    for (const auto& e : out.error)
      if (!e.isEmpty()) throw Error(e.toStdString());
    throw Error("no model to profile");
  }
  std::vector<ProfiledPlan*> plans;
  for (auto& l : live) plans.push_back(l->profiled.get());
  if (!profileInTurns(plans, batch, request.runs, request.warmup, token, progress)) return out;
  for (auto& l : live) {
    const auto& run = *l->run;
    profiler::TraceContext ctx;
    ctx.model = run.label.toStdString();
    ctx.device = run.device.toStdString();
    ctx.batch = batch;
    ctx.runs = request.runs;
    ctx.warmup = request.warmup;
    ctx.notes = "SwinScope app, slot " + slotName(run.slot).toStdString();
    for (const auto& k : l->handle.plan->kernels()) out.kernels[run.slot][k.stage] = k.kernel;
    out.unrecordedUs[run.slot] = l->profiled->unrecorded;
    out.trace[run.slot] = l->profiled->take(ctx);
  }
  return out;
}

VariantsOutcome runVariants(const VariantsRequest& request, const JobToken& token,
                            const std::function<void(const ProfileProgressInfo&)>& progress) {
  VariantsOutcome out;
  const int batch = std::max(1, request.batch);
  const int runs = std::max(1, request.runs);
  out.batch = batch;
  out.runs = runs;
  out.device = QString::fromStdString(cpu_description());
  struct Live {
    std::size_t column = 0;
    std::unique_ptr<Plan> plan;
    std::unique_ptr<ProfiledPlan> profiled;
  };
  std::vector<std::unique_ptr<Live>> live;
  const int columns = static_cast<int>(request.columns.size());
  for (std::size_t i = 0; i < request.columns.size(); ++i) {
    const auto& c = request.columns[i];
    VariantResult r;
    r.slot = c.slot;
    r.generation = c.generation;
    r.label = c.label;
    r.variant = QString::fromUtf8(variant_name(c.variant).data(), static_cast<int>(variant_name(c.variant).size()));
    out.columns.push_back(r);
    if (token.cancelled()) return out;
    progress({0, runs * columns, QObject::tr("building %1 %2 (%3 of %4)").arg(slotName(c.slot), r.variant).arg(i + 1).arg(columns)});
    try {
      if (!c.model) throw Error("no model");
      auto l = std::make_unique<Live>();
      l->column = i;
      PlanOptions po;
      po.variant = c.variant;
      po.backend = Backend::CPU;
      po.max_batch = batch;
      po.threads = c.threads;
      l->plan = make_plan(*c.model, po);
      l->profiled = std::make_unique<ProfiledPlan>(*l->plan, slotName(c.slot) + QLatin1Char(' ') + r.variant, c.model->config, batch);
      // The first run at a batch size builds its primitives: not part of any measurement.
      l->profiled->timed(batch, nullptr);
      live.push_back(std::move(l));
    } catch (const std::exception& e) {
      out.columns.back().error = QString::fromUtf8(e.what());
    }
  }
  if (live.empty()) throw Error(out.columns.empty() ? "no variant to profile" : out.columns.front().error.toStdString());
  std::vector<ProfiledPlan*> plans;
  for (auto& l : live) plans.push_back(l->profiled.get());
  if (!profileInTurns(plans, batch, runs, request.warmup, token, progress)) return out;
  for (auto& l : live) {
    auto& res = out.columns[l->column];
    profiler::TraceContext ctx;
    ctx.model = res.label.toStdString();
    ctx.device = out.device.toStdString();
    ctx.batch = batch;
    ctx.runs = runs;
    ctx.warmup = request.warmup;
    ctx.notes = "SwinScope app, Compare tab variants, slot " + slotName(res.slot).toStdString();
    res.unrecordedUs = l->profiled->unrecorded;
    res.trace = l->profiled->take(ctx);
  }
  return out;
}

JobResults::JobResults(QObject* parent) : QObject(parent) {
  qRegisterMetaType<VariantsOutcome>();
  qRegisterMetaType<LoadedSlot>();
  qRegisterMetaType<ClassifyChunk>();
  qRegisterMetaType<EvalProgressInfo>();
  qRegisterMetaType<EvalOutcome>();
  qRegisterMetaType<ProfileProgressInfo>();
  qRegisterMetaType<ProfileOutcome>();
  qRegisterMetaType<NumericsProgressInfo>();
  qRegisterMetaType<NumericsOutcome>();
}

NumericsOutcome runNumerics(const NumericsRequest& request, const JobToken& token,
                            const std::function<void(const NumericsProgressInfo&)>& progress) {
  if (!request.test.model) throw Error("numerics: the slot has no model");
  std::shared_ptr<const Model> reference = request.reference;
  NumericsOutcome out;
  if (request.referencePath == QLatin1String("dequantized")) {  // the int8 file's own weights, dequantized
    auto deq = std::make_shared<Model>(dequantize_model(*request.test.model));
    deq->path = request.test.model->path.string() + " (dequantized)";
    reference = std::move(deq);
    out.referenceLabel = QFileInfo(QString::fromStdString(request.test.model->path.string())).fileName() + QObject::tr(" (dequantized)");
  } else if (!request.referencePath.isEmpty()) {
    reference = std::make_shared<const Model>(load_model(QFile::encodeName(request.referencePath).toStdString()));
    out.referenceLabel = QFileInfo(request.referencePath).fileName();
  } else if (reference) {
    out.referenceLabel = QFileInfo(QString::fromStdString(reference->path.string())).fileName();
  } else {
    throw Error("numerics: choose a reference model (the FP32 source, or load one into the other slot)");
  }
  const DatasetSource source = check_dataset_source(QFile::encodeName(request.dataDir).toStdString());
  const Dataset data = open_dataset_source(source, request.test.model->classes);
  out.testLabel = request.test.label;
  out.dataset = QString::fromStdString(source.name);
  // The slot's variant picks the int8 plan: int8-ivit taps the integer-only plan; any other runs
  // the file's default int8 plan (the only other one on the CPU).
  std::optional<Variant> variant;
  if (request.test.model->is_int8() && request.test.variant == QLatin1String("int8-ivit")) variant = Variant::Int8Ivit;
  out.report = measure_sqnr(*request.test.model, *reference, data, request.images, [&](const Progress& p) {
    if (token.cancelled()) throw Error("numerics: cancelled", Error::Kind::Runtime);
    progress({p.done, p.total});
  }, variant);
  return out;
}

}  // namespace swinscope::gui
