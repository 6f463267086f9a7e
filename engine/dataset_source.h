#pragma once
// What a dataset path typed by a user is, checked before any work: ONE check for the CLI
// (eval, compare) and the app (Evaluate, Compare), so both accept the same forms and refuse
// the rest with the same message. Cheap (a few stat() calls and one folder listing), so the
// app runs it on the UI thread before it starts a job; open_dataset() then reads the data.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/dataset.h"

namespace swinscope {

struct DatasetSource {
  enum class Form { ImageFolder, FlatWithLabels, IdxImagesFile, IdxFolder };
  Form form = Form::ImageFolder;
  std::filesystem::path path;  // what to pass to open_dataset: for an IDX folder, the chosen images file
  std::optional<std::filesystem::path> labels;
  std::string name;               // for titles: "fashion-mnist t10k (IDX)", "samples"
  std::vector<std::string> notes;  // e.g. which IDX set of a folder was taken
};

// The forms the engine reads: an ImageFolder (one sub-folder per class); a flat folder with
// `labels` (`name label` lines); an IDX images file (its labels file beside it, .gz or not);
// a folder of IDX files (one set, or several: the test set, t10k/test, is taken and a note
// says so). Throws swinscope::Error naming the path and what was expected.
DatasetSource check_dataset_source(const std::filesystem::path& path,
                                   const std::optional<std::filesystem::path>& labels = std::nullopt);

// check_dataset_source, then open_dataset on what it resolved; its notes come first.
Dataset open_dataset_source(const DatasetSource& source, const std::vector<std::string>& model_classes);

// Labels in the dataset that the model cannot predict, or classes the dataset never has:
// a 1000-class ImageNet SWIN on Fashion-MNIST scores 0 % without a word otherwise. Compares
// the dataset's own class count (its folders, or the distinct labels of an IDX / flat set)
// with the model's. Empty when they match.
std::optional<std::string> class_count_mismatch(const Dataset& data, const std::vector<std::string>& model_classes,
                                                const std::string& model_name);

}  // namespace swinscope
