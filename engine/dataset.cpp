#include "engine/dataset.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "engine/error.h"

namespace swinscope {

namespace fs = std::filesystem;

bool has_image_extension(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::set<std::string> kExt{".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".jfif"};
  return kExt.count(e) > 0;
}

namespace {

// Image files under `dir`, recursed, sorted. Folder symlinks are followed, but a folder already
// listed (a symlink loop such as `loop -> ..`, or two links to one folder) is entered once and
// the repeat noted; entries that cannot be inspected are noted and passed over, never fatal.
// Entries whose target is missing or cannot be inspected (dangling symlinks) stay in the list,
// so the decoder skips and counts them with their reason like any unreadable image.
std::vector<fs::path> sorted_images_under(const fs::path& dir, int* ignored, std::vector<std::string>* notes) {
  std::vector<fs::path> out;
  std::error_code ec;
  std::set<fs::path> visited;
  visited.insert(fs::weakly_canonical(dir, ec));
  auto note = [&](const std::string& n) {
    if (notes) notes->push_back(n);
  };
  for (auto it = fs::recursive_directory_iterator(
           dir, fs::directory_options::follow_directory_symlink | fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code fe;
    const fs::path& path = it->path();
    const auto target = fs::status(path, fe);  // follows symlinks
    if (fe || !fs::exists(target)) {
      // Whatever its name, it may have been meant as an image: the decoder skips and counts
      // it with its reason (dangling symlink, permission, loop) instead of dropping it unseen.
      out.push_back(path);
      continue;
    }
    if (fs::is_directory(target)) {
      const fs::path canon = fs::canonical(path, fe);
      if (fe || !visited.insert(canon).second) {
        it.disable_recursion_pending();
        note(path.string() + ": " + (fe ? "cannot resolve (" + fe.message() + ")" : "leads to a folder already listed (" + canon.string() + ")") +
             ": not entered");
      } else if (::access(path.c_str(), R_OK | X_OK) != 0) {
        // skip_permission_denied would pass over it without a word
        note(path.string() + ": cannot be listed (" + std::generic_category().message(errno) + "): not entered");
      }
      continue;
    }
    if (!fs::is_regular_file(target)) continue;
    if (has_image_extension(path)) out.push_back(path);
    else if (ignored) ++*ignored;
  }
  if (ec) throw Error(dir.string() + ": cannot list folder (" + ec.message() + ")");
  std::sort(out.begin(), out.end());
  return out;
}

Dataset open_idx(const IdxSet& set, const std::vector<std::string>& model_classes) {
  Dataset d;
  d.root = set.images;
  d.layout = "idx (" + set.name + ")";
  auto data = std::make_shared<IdxData>(read_idx(set));
  int max_label = 0;
  for (auto l : data->labels) max_label = std::max<int>(max_label, l);
  if (!model_classes.empty()) {
    if (max_label >= static_cast<int>(model_classes.size()))
      throw Error(set.labels.string() + ": label " + std::to_string(max_label) + " but the model has " +
                  std::to_string(model_classes.size()) + " classes");
    d.folder_classes = model_classes;
  } else {
    std::string lower = set.images.string();
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.find("fashion") != std::string::npos && max_label < 10) {
      d.folder_classes = fashion_mnist_classes();
    } else {
      for (int i = 0; i <= max_label; ++i) d.folder_classes.push_back(std::to_string(i));
    }
  }
  d.images.reserve(static_cast<std::size_t>(data->count));
  for (long i = 0; i < data->count; ++i)
    d.images.push_back({fs::path(set.images.string() + "#" + std::to_string(i)), data->labels[static_cast<std::size_t>(i)], i});
  if (d.images.empty()) throw Error(set.images.string() + ": holds no images");
  d.idx = std::move(data);
  return d;
}

}  // namespace

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> k{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return k;
}

Image8 load_dataset_image(const Dataset& d, std::size_t i, int channels) {
  const auto& item = d.images.at(i);
  if (item.idx_index < 0 || !d.idx) return load_image(item.path, channels);
  if (channels != 1 && channels != 3)
    throw Error(item.path.string() + ": channels must be 1 or 3, found " + std::to_string(channels));
  Image8 img;
  img.width = d.idx->cols;
  img.height = d.idx->rows;
  img.channels = channels;
  const std::uint8_t* src = d.idx->image(item.idx_index);
  const std::size_t n = static_cast<std::size_t>(img.width) * img.height;
  img.pixels.resize(n * static_cast<std::size_t>(channels));
  for (std::size_t p = 0; p < n; ++p)
    for (int c = 0; c < channels; ++c) img.pixels[p * static_cast<std::size_t>(channels) + static_cast<std::size_t>(c)] = src[p];
  return img;
}

void preprocess_dataset_image(const Dataset& d, std::size_t i, const PreprocessConfig& cfg, float* out) {
  const Image8 img = load_dataset_image(d, i, cfg.channels);
  try {
    preprocess(img, cfg, out);
  } catch (const Error& e) {
    throw Error(d.images.at(i).path.string() + ": " + e.what(), e.kind());
  }
}

Dataset open_dataset(const fs::path& dir, const std::optional<fs::path>& labels_file,
                     const std::vector<std::string>& model_classes) {
  Dataset d;
  d.root = dir;
  std::error_code ec;
  if (fs::is_regular_file(dir, ec) && is_idx_images_file(dir)) return open_idx(idx_set_for_images_file(dir), model_classes);
  if (!fs::is_directory(dir, ec))
    throw Error(dir.string() + (fs::exists(dir, ec) ? ": not a folder or an IDX images file" : ": no such folder"));
  if (labels_file) {
    std::ifstream in(*labels_file);
    if (!in) throw Error(labels_file->string() + ": cannot open labels file (" + std::generic_category().message(errno) + ")");
    d.layout = "flat + labels";
    d.folder_classes = model_classes;
    std::map<std::string, int> by_name;
    for (std::size_t i = 0; i < model_classes.size(); ++i) by_name[model_classes[i]] = static_cast<int>(i);
    std::string line;
    int lineno = 0, missing = 0;
    std::string first_missing;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      std::string name, label;
      if (!(ls >> name >> label))
        throw Error(labels_file->string() + ":" + std::to_string(lineno) + ": expected 'name label', found '" + line + "'");
      int idx = -1;
      if (std::all_of(label.begin(), label.end(), [](unsigned char c) { return std::isdigit(c); })) {
        idx = std::stoi(label);
      } else if (auto it = by_name.find(label); it != by_name.end()) {
        idx = it->second;
      }
      const bool any_count = model_classes.empty() && idx >= 0;
      if (!any_count && (idx < 0 || idx >= static_cast<int>(model_classes.size())))
        throw Error(labels_file->string() + ":" + std::to_string(lineno) + ": label '" + label +
                    "' is not a class index 0.." + std::to_string(model_classes.size() - 1) + " or a class name of the model");
      const fs::path p = dir / name;
      if (!fs::exists(p, ec)) {
        if (missing++ == 0) first_missing = p.string();
        continue;
      }
      d.images.push_back({p, idx});
    }
    if (missing > 0)
      throw Error(labels_file->string() + ": " + std::to_string(missing) + " listed image(s) do not exist, first: " + first_missing);
    if (d.images.empty()) throw Error(labels_file->string() + ": lists no images");
    if (model_classes.empty()) {
      int max_label = 0;
      for (const auto& im : d.images) max_label = std::max(max_label, im.label);
      for (int i = 0; i <= max_label; ++i) d.folder_classes.push_back(std::to_string(i));
    }
    return d;
  }
  std::vector<fs::path> class_dirs;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::error_code fe;
    if (e.is_directory(fe)) class_dirs.push_back(e.path());
  }
  std::sort(class_dirs.begin(), class_dirs.end());
  if (class_dirs.empty()) {
    const auto sets = find_idx_sets(dir);
    if (sets.size() == 1) return open_idx(sets[0], model_classes);
    if (sets.size() > 1) {
      std::string names;
      for (const auto& st : sets) names += (names.empty() ? "" : ", ") + st.images.filename().string();
      throw Error(dir.string() + ": holds " + std::to_string(sets.size()) + " IDX sets (" + names +
                  "); name the images file of the one to use, e.g. " + (dir / sets[0].images.filename()).string());
    }
  }
  if (class_dirs.empty())
    throw Error(dir.string() + ": no class folders (an ImageFolder has one sub-folder per class; for a flat folder pass --labels FILE)");
  std::map<std::string, int> model_index;
  for (std::size_t i = 0; i < model_classes.size(); ++i) model_index[model_classes[i]] = static_cast<int>(i);
  const bool by_name = !model_classes.empty() && std::all_of(class_dirs.begin(), class_dirs.end(),
                                   [&](const fs::path& p) { return model_index.count(p.filename().string()) > 0; });
  if (!by_name && !model_classes.empty() && class_dirs.size() != model_classes.size())
    throw Error(dir.string() + ": " + std::to_string(class_dirs.size()) + " class folders, but the model has " +
                std::to_string(model_classes.size()) + " classes and the folder names are not its class names");
  d.layout = by_name ? "imagefolder (folder names matched to the model's classes)" : "imagefolder (sorted order)";
  int ignored = 0;
  for (std::size_t i = 0; i < class_dirs.size(); ++i) {
    const int label = by_name ? model_index[class_dirs[i].filename().string()] : static_cast<int>(i);
    d.folder_classes.push_back(class_dirs[i].filename().string());
    for (auto& p : sorted_images_under(class_dirs[i], &ignored, &d.notes)) d.images.push_back({p, label});
  }
  if (ignored > 0) d.notes.push_back(std::to_string(ignored) + " file(s) without an image extension ignored");
  if (d.images.empty()) throw Error(dir.string() + ": no images in any class folder");
  return d;
}

std::vector<fs::path> expand_image_paths(const std::vector<fs::path>& inputs, std::vector<std::string>* notes) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& p : inputs) {
    if (fs::is_directory(p, ec)) {
      auto v = sorted_images_under(p, nullptr, notes);
      out.insert(out.end(), v.begin(), v.end());
    } else {
      out.push_back(p);  // decoded later; a bad file is reported then, with its reason
    }
  }
  return out;
}

}  // namespace swinscope
