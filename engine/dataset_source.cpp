#include "engine/dataset_source.h"

#include <algorithm>
#include <set>
#include <system_error>

#include "engine/error.h"
#include "engine/idx.h"

namespace swinscope {

namespace fs = std::filesystem;

namespace {

const char kForms[] =
    "expected an ImageFolder (one sub-folder per class), a flat folder with a labels file, an IDX images file "
    "(e.g. t10k-images-idx3-ubyte.gz) or a folder of IDX files";

std::string idx_set_name(const fs::path& folder, const std::string& set) {
  return folder.filename().string() + " " + set + " (IDX)";
}

}  // namespace

DatasetSource check_dataset_source(const fs::path& path, const std::optional<fs::path>& labels) {
  std::error_code ec;
  if (path.empty()) throw Error(std::string("no dataset given: ") + kForms);
  DatasetSource s;
  s.path = path;
  s.labels = labels;
  if (labels) {
    if (!fs::is_regular_file(*labels, ec)) throw Error(labels->string() + ": no such labels file");
    if (!fs::is_directory(path, ec))
      throw Error(path.string() + (fs::exists(path, ec) ? ": a labels file goes with a flat folder of images, and this is not a folder"
                                                        : ": no such folder"));
    s.form = DatasetSource::Form::FlatWithLabels;
    s.name = path.filename().string();
    return s;
  }
  if (fs::is_regular_file(path, ec)) {
    if (!is_idx_images_file(path)) throw Error(path.string() + ": not a dataset; " + kForms);
    const IdxSet set = idx_set_for_images_file(path);  // throws naming the missing labels file
    s.form = DatasetSource::Form::IdxImagesFile;
    s.name = idx_set_name(path.parent_path(), set.name);
    return s;
  }
  if (!fs::is_directory(path, ec))
    throw Error(path.string() + (fs::exists(path, ec) ? ": not a folder or an IDX images file" : ": no such file or folder"));
  bool has_subfolder = false;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec)) {
      has_subfolder = true;
      break;
    }
  if (ec) throw Error(path.string() + ": cannot list folder (" + ec.message() + ")");
  s.name = path.filename().string();
  if (!has_subfolder) {
    const auto sets = find_idx_sets(path);
    if (sets.empty())
      throw Error(path.string() + ": no class folders and no IDX files (a flat folder of images needs a labels file); " + kForms);
    // find_idx_sets puts the test set first: evaluation wants held-out images.
    s.form = DatasetSource::Form::IdxFolder;
    s.path = sets.front().images;
    s.name = idx_set_name(path, sets.front().name);
    if (sets.size() > 1) s.notes.push_back("IDX set " + sets.front().name + " of " + std::to_string(sets.size()) + " in " +
                                           path.string() + " (" + sets.front().images.filename().string() + ")");
    return s;
  }
  s.form = DatasetSource::Form::ImageFolder;
  return s;
}

Dataset open_dataset_source(const DatasetSource& source, const std::vector<std::string>& model_classes) {
  Dataset d = open_dataset(source.path, source.labels, model_classes);
  d.notes.insert(d.notes.begin(), source.notes.begin(), source.notes.end());
  return d;
}

std::optional<std::string> class_count_mismatch(const Dataset& data, const std::vector<std::string>& model_classes,
                                                const std::string& model_name) {
  // Folders matched to the model's class names by name: a subset of its classes, correctly labelled.
  if (data.layout.find("names matched") != std::string::npos) return std::nullopt;
  const std::size_t model_n = model_classes.size();
  std::size_t data_n = 0;
  int max_label = -1;
  std::set<int> distinct;
  for (const auto& im : data.images) {
    distinct.insert(im.label);
    max_label = std::max(max_label, im.label);
  }
  // An IDX or flat set labelled against the model takes the model's class list as its own, so
  // its own count is that of its labels (0..max); an ImageFolder has its folders.
  if (data.idx || data.layout.rfind("flat", 0) == 0) data_n = static_cast<std::size_t>(max_label + 1);
  else data_n = data.folder_classes.size();
  if (data_n == 0 || model_n == 0 || data_n == model_n) return std::nullopt;
  std::string msg = model_name + " has " + std::to_string(model_n) + " classes but the dataset has " + std::to_string(data_n);
  if (model_n > data_n)
    msg += ": the model can predict classes the dataset never has, and its labels may mean other classes (an ImageNet model "
           "on Fashion-MNIST scores about 0 %)";
  else
    msg += ": images of the classes past the model's " + std::to_string(model_n) + " can never be right";
  return msg;
}

}  // namespace swinscope
