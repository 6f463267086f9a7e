#pragma once
// The app's long work — loading a model, classifying images, evaluating, profiling — as
// plain functions over value structs, run on the JobRunner's thread. Their results go back
// to the UI through JobResults' queued signals, tagged with the job id.
#include <QHash>
#include <QImage>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/evaluate.h"
#include "engine/model.h"
#include "engine/plan.h"
#include "engine/quant_error.h"
#include "gui/app/job_runner.h"
#include "gui/app/plan_cache.h"
#include "gui/models/eval_models.h"
#include "profiler/trace.h"

namespace swinscope::gui {

// Random weights for latency work: a preset (or any config) with GELU or ReLU blocks, as
// FP32 or calibrated on random input and quantized to int8.
struct RandomSpec {
  std::string preset;               // swin_tiny | swin_small | swin_base | swin_large
  std::optional<SwinConfig> config;  // instead of a preset (tests, tiny demos)
  Activation activation = Activation::GELU;
  bool int8 = false;
  std::uint64_t seed = 0;

  QString label() const;  // "random swin_tiny · GELU · int8"
  // "random:swin_tiny[:gelu|relu][:fp32|int8]" as the command line and settings write it.
  QString toText() const;
  static std::optional<RandomSpec> fromText(const QString& text, QString* error = nullptr);
};

struct LoadRequest {
  int slot = 0;
  QString path;                            // a model file ...
  std::optional<RandomSpec> random;        // ... or random weights ...
  std::shared_ptr<const Model> model;      // ... or the slot's current model, reconfigured
  QString source;                          // with `model`: its source and label, kept
  QString label;
  QString backendRequest = QStringLiteral("auto");
  std::optional<Variant> variant;          // empty: default_variant(model)
};

struct LoadedSlot {
  int slot = 0;
  std::shared_ptr<const Model> model;
  std::shared_ptr<PlanCache> plans;  // null when the model cannot run as asked: see planError
  QString planError;
  BackendChoice backend;
  QString backendRequest;
  Variant variant = Variant::FP32;
  QString source;  // file path, or RandomSpec::toText()
  QString label;   // file name, or RandomSpec::label()
  std::vector<StageKernel> kernels;
  double seconds = 0;
};

// What a job needs of a slot, copied when the job is submitted: the slot may change
// while the job runs, and the job keeps using what it was given.
struct SlotRun {
  int slot = 0;
  std::shared_ptr<const Model> model;
  std::shared_ptr<PlanCache> plans;
  quint64 generation = 0;
  QString label;
  QString variant;
  QString device;
};

struct ClassifyRequest {
  QStringList paths;
  std::vector<SlotRun> models;  // the slots to run, A before B
  bool thumbnails = true;
  int thumbnailPx = 96;  // the longer side in device pixels (icon size × device pixel ratio)
  int topk = 5;
  int chunk = 8;  // images per forward pass, and per update sent to the UI
};

struct ClassifyItem {
  QString path;
  QImage thumbnail;
  QString error;  // the image could not be read: no slot ran it
  std::optional<std::vector<TopK>> top[2];
  QString slotError[2];
  double latencyMs[2] = {-1, -1};
  int batch[2] = {0, 0};
};

struct ClassifyChunk {
  std::vector<ClassifyItem> items;
  int done = 0;
  int total = 0;
  quint64 generation[2] = {0, 0};
  bool ran[2] = {false, false};  // which slots this job classified with
};

struct EvalRequest {
  QString dataDir;     // any form engine/dataset_source.h accepts: ImageFolder, flat folder (with labelsFile), IDX file or folder
  QString labelsFile;
  int batch = 8;
  long limit = 0;  // 0: all
  std::vector<SlotRun> models;  // the slots to run, A before B
};

struct EvalProgressInfo {
  QString phase;  // non-empty while preparing (reading the dataset): what is happening
  QString warning;  // said before the run: e.g. the model's classes do not match the dataset's
  int slot = 0;
  long done = 0;
  long total = 0;
  double imagesPerS = 0;
  double etaS = 0;  // of the whole job: this slot's rest plus the slots after it
  int slotIndex = 0;
  int slotCount = 1;
};

struct EvalOutcome {
  std::optional<EvalSlotResult> result[2];
  QString error[2];
  QString dataset;  // "samples (imagefolder (sorted order), 40 images)"
  QString dataDir;
  QStringList notes;
  // Thumbnails of the images A and B disagree on (the first kMaxFlippedThumbnails), by path.
  QHash<QString, QImage> thumbnails;
};
inline constexpr int kMaxFlippedThumbnails = 500;

struct ProfileRequest {
  int batch = 1;
  int runs = 10;
  int warmup = 2;
  std::vector<SlotRun> models;  // the slots to run, A before B
};

struct ProfileProgressInfo {
  int run = 0;  // recorded runs done (of both slots together)
  int runs = 0;
  QString phase;
};

struct ProfileOutcome {
  std::optional<profiler::Trace> trace[2];
  std::vector<double> unrecordedUs[2];  // per run, recording off; A's run i and B's run i ran back to back
  std::map<std::string, std::string> kernels[2];
  QString error[2];
};

// The Compare tab's variants table (issue 16): every variant the slots' files can run, each
// compiled into its own plan on the CPU backend and profiled as the Profile tab profiles A and
// B (a recorded run next to an unrecorded one; the variants take turns run by run).
struct VariantRun {
  int slot = 0;
  std::shared_ptr<const Model> model;
  quint64 generation = 0;
  QString label;  // the slot's label (file name)
  Variant variant = Variant::Int8Gelu;
  int threads = 0;  // 0: one per core, as the slot's own plan
};

struct VariantsRequest {
  int batch = 1;
  int runs = 10;
  int warmup = 2;
  std::vector<VariantRun> columns;  // in the table's order
};

struct VariantResult {
  int slot = 0;
  quint64 generation = 0;
  QString label;
  QString variant;
  std::optional<profiler::Trace> trace;  // end_to_end_us_unrecorded set
  std::vector<double> unrecordedUs;      // per run, recording off
  QString error;                         // this variant could not be built or run
};

struct VariantsOutcome {
  std::vector<VariantResult> columns;  // in the request's order
  QString device;
  int batch = 0;
  int runs = 0;
};

// Numerics (engine/quant_error.h): one slot's model against a reference model file or the
// other slot's model, on a few images of a dataset.
struct NumericsRequest {
  SlotRun test;
  std::shared_ptr<const Model> reference;  // the other slot's model ...
  QString referencePath;                    // ... or a file, loaded by the job, or "dequantized":
                                            // the int8 model's own weights dequantized
  QString dataDir;                          // any form engine/dataset_source.h accepts
  int images = 8;
};

struct NumericsProgressInfo {
  long done = 0;
  long total = 0;
};

struct NumericsOutcome {
  SqnrReport report;
  QString testLabel, referenceLabel;
  QString dataset;
};

// Each throws swinscope::Error (or std::exception) for what makes the whole job fail;
// a problem with one slot or one image is recorded in the result instead.
LoadedSlot runLoad(const LoadRequest& request, const JobToken& token);
void runClassify(const ClassifyRequest& request, const JobToken& token, const std::function<void(ClassifyChunk)>& emitChunk);
EvalOutcome runEvaluate(const EvalRequest& request, const JobToken& token,
                        const std::function<void(const EvalProgressInfo&)>& progress);
ProfileOutcome runProfile(const ProfileRequest& request, const JobToken& token,
                          const std::function<void(const ProfileProgressInfo&)>& progress);
// Throws only when no variant could be built; one that fails has its error in its column. A
// cancelled job returns early (its result is never shown).
VariantsOutcome runVariants(const VariantsRequest& request, const JobToken& token,
                            const std::function<void(const ProfileProgressInfo&)>& progress);
// Throws when it cannot measure (a bad reference, different architectures); a cancelled job
// stops after the image in progress and throws too (its result is never shown).
NumericsOutcome runNumerics(const NumericsRequest& request, const JobToken& token,
                            const std::function<void(const NumericsProgressInfo&)>& progress);

// The image as the model sees it before resizing (EXIF applied), scaled to fit `size`.
QImage makeThumbnail(const QString& path, int size);

// Signals that carry job results to the UI thread (emitted from the worker).
class JobResults : public QObject {
  Q_OBJECT
 public:
  explicit JobResults(QObject* parent = nullptr);
 signals:
  void modelLoaded(quint64 job, const swinscope::gui::LoadedSlot& loaded);
  void classified(quint64 job, const swinscope::gui::ClassifyChunk& chunk);
  void evalProgress(quint64 job, const swinscope::gui::EvalProgressInfo& progress);
  void evalFinished(quint64 job, const swinscope::gui::EvalOutcome& outcome);
  void profileProgress(quint64 job, const swinscope::gui::ProfileProgressInfo& progress);
  void profileFinished(quint64 job, const swinscope::gui::ProfileOutcome& outcome);
  void variantsProgress(quint64 job, const swinscope::gui::ProfileProgressInfo& progress);
  void variantsFinished(quint64 job, const swinscope::gui::VariantsOutcome& outcome);
  void numericsProgress(quint64 job, const swinscope::gui::NumericsProgressInfo& progress);
  void numericsFinished(quint64 job, const swinscope::gui::NumericsOutcome& outcome);
};

}  // namespace swinscope::gui

Q_DECLARE_METATYPE(swinscope::gui::LoadedSlot)
Q_DECLARE_METATYPE(swinscope::gui::ClassifyChunk)
Q_DECLARE_METATYPE(swinscope::gui::EvalProgressInfo)
Q_DECLARE_METATYPE(swinscope::gui::EvalOutcome)
Q_DECLARE_METATYPE(swinscope::gui::ProfileProgressInfo)
Q_DECLARE_METATYPE(swinscope::gui::ProfileOutcome)
Q_DECLARE_METATYPE(swinscope::gui::VariantsOutcome)
Q_DECLARE_METATYPE(swinscope::gui::NumericsProgressInfo)
Q_DECLARE_METATYPE(swinscope::gui::NumericsOutcome)
