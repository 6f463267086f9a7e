#pragma once
// Labelled image lists: ImageFolder (one folder per class) or a flat folder with a
// `name label` file. Listing never decodes; unreadable images are found (and skipped,
// with the reason) when they are decoded.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/idx.h"
#include "engine/preprocess.h"

namespace swinscope {

struct LabeledImage {
  std::filesystem::path path;  // for IDX items: the images file + "#index", for messages
  int label = -1;
  long idx_index = -1;         // IDX items: the image's index in Dataset::idx
};

struct Dataset {
  std::filesystem::path root;
  std::string layout;                  // "imagefolder (sorted order)", "imagefolder (names matched)", "flat + labels"
  std::vector<std::string> folder_classes;  // the dataset's own class names, in label order
  std::vector<LabeledImage> images;
  std::vector<std::string> notes;      // e.g. files ignored for their extension
  std::shared_ptr<const IdxData> idx;  // IDX datasets: the images, in memory
};

// Image i of the dataset as 8-bit pixels with `channels` (1 or 3): decoded from its file,
// or taken from the IDX data. Throws swinscope::Error naming the file on failure.
Image8 load_dataset_image(const Dataset& d, std::size_t i, int channels);
// load_dataset_image + preprocess: channels × crop × crop floats (CHW) into `out`.
void preprocess_dataset_image(const Dataset& d, std::size_t i, const PreprocessConfig& cfg, float* out);

// Fashion-MNIST's ten class names, in label order.
const std::vector<std::string>& fashion_mnist_classes();

bool has_image_extension(const std::filesystem::path& p);

// `dir`: an ImageFolder; a flat folder with `labels_file` (`name label` lines); an IDX
// images file (its labels file beside it); or a folder holding exactly one IDX set.
// `model_classes`: when every class folder's name is one of them, labels follow the model's
// order (synset folders against a model's class list); otherwise folders are taken in sorted
// order and their count must equal the model's class count. Empty `model_classes` (training
// a new model) accepts any class count: folder names, numeric labels, or IDX labels (with
// Fashion-MNIST's names when the path says fashion-mnist).
// Throws swinscope::Error naming the folder and what is wrong (missing, no images, ...).
Dataset open_dataset(const std::filesystem::path& dir, const std::optional<std::filesystem::path>& labels_file,
                     const std::vector<std::string>& model_classes);

// All image files given on a command line / dropped: files as they are, folders recursed (a
// folder reached twice, as through a symlink loop, is entered once; `notes` gets why).
std::vector<std::filesystem::path> expand_image_paths(const std::vector<std::filesystem::path>& inputs,
                                                      std::vector<std::string>* notes = nullptr);

}  // namespace swinscope
