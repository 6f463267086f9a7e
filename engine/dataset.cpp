#include "engine/dataset.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

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

std::vector<fs::path> sorted_images_under(const fs::path& dir, int* ignored) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    if (has_image_extension(it->path())) out.push_back(it->path());
    else if (ignored) ++*ignored;
  }
  if (ec) throw Error(dir.string() + ": cannot list folder (" + ec.message() + ")");
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Dataset open_dataset(const fs::path& dir, const std::optional<fs::path>& labels_file,
                     const std::vector<std::string>& model_classes) {
  Dataset d;
  d.root = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir.string() + ": not a folder");
  if (labels_file) {
    std::ifstream in(*labels_file);
    if (!in) throw Error(labels_file->string() + ": cannot open labels file");
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
      if (idx < 0 || idx >= static_cast<int>(model_classes.size()))
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
    return d;
  }
  std::vector<fs::path> class_dirs;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory()) class_dirs.push_back(e.path());
  std::sort(class_dirs.begin(), class_dirs.end());
  if (class_dirs.empty())
    throw Error(dir.string() + ": no class folders (an ImageFolder has one sub-folder per class; for a flat folder pass --labels FILE)");
  std::map<std::string, int> model_index;
  for (std::size_t i = 0; i < model_classes.size(); ++i) model_index[model_classes[i]] = static_cast<int>(i);
  const bool by_name = std::all_of(class_dirs.begin(), class_dirs.end(),
                                   [&](const fs::path& p) { return model_index.count(p.filename().string()) > 0; });
  if (!by_name && class_dirs.size() != model_classes.size())
    throw Error(dir.string() + ": " + std::to_string(class_dirs.size()) + " class folders, but the model has " +
                std::to_string(model_classes.size()) + " classes and the folder names are not its class names");
  d.layout = by_name ? "imagefolder (folder names matched to the model's classes)" : "imagefolder (sorted order)";
  int ignored = 0;
  for (std::size_t i = 0; i < class_dirs.size(); ++i) {
    const int label = by_name ? model_index[class_dirs[i].filename().string()] : static_cast<int>(i);
    d.folder_classes.push_back(class_dirs[i].filename().string());
    for (auto& p : sorted_images_under(class_dirs[i], &ignored)) d.images.push_back({p, label});
  }
  if (ignored > 0) d.notes.push_back(std::to_string(ignored) + " file(s) without an image extension ignored");
  if (d.images.empty()) throw Error(dir.string() + ": no images in any class folder");
  return d;
}

std::vector<fs::path> expand_image_paths(const std::vector<fs::path>& inputs) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& p : inputs) {
    if (fs::is_directory(p, ec)) {
      auto v = sorted_images_under(p, nullptr);
      out.insert(out.end(), v.begin(), v.end());
    } else {
      out.push_back(p);  // decoded later; a bad file is reported then, with its reason
    }
  }
  return out;
}

}  // namespace swinscope
