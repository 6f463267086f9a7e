#pragma once
// Labelled image lists: ImageFolder (one folder per class) or a flat folder with a
// `name label` file. Listing never decodes; unreadable images are found (and skipped,
// with the reason) when they are decoded.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace swinscope {

struct LabeledImage {
  std::filesystem::path path;
  int label = -1;
};

struct Dataset {
  std::filesystem::path root;
  std::string layout;                  // "imagefolder (sorted order)", "imagefolder (names matched)", "flat + labels"
  std::vector<std::string> folder_classes;  // the dataset's own class names, in label order
  std::vector<LabeledImage> images;
  std::vector<std::string> notes;      // e.g. files ignored for their extension
};

bool has_image_extension(const std::filesystem::path& p);

// `model_classes`: when every class folder's name is one of them, labels follow the model's
// order (synset folders against a model's class list); otherwise folders are taken in sorted
// order and their count must equal the model's class count.
// Throws swinscope::Error naming the folder and what is wrong (missing, no images, ...).
Dataset open_dataset(const std::filesystem::path& dir, const std::optional<std::filesystem::path>& labels_file,
                     const std::vector<std::string>& model_classes);

// All image files given on a command line / dropped: files as they are, folders recursed.
std::vector<std::filesystem::path> expand_image_paths(const std::vector<std::filesystem::path>& inputs);

}  // namespace swinscope
