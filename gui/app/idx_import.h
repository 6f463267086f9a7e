#pragma once
// Fashion-MNIST / MNIST IDX files (Debian's dataset-fashion-mnist puts them in
// /usr/share/datasets/fashion-mnist) as a dataset the engine evaluates: the images are
// written once as PNG files into a flat folder with a `name label` file beside them.
#include <QString>

#include <functional>
#include <vector>

#include "gui/app/job_runner.h"

namespace swinscope::gui {

struct IdxSet {
  QString images;  // <set>-images-idx3-ubyte[.gz]
  QString labels;  // <set>-labels-idx1-ubyte[.gz]
  QString name;    // "t10k", "train", ...
};

// The image/label pairs in `dir`, the test set (t10k) first.
std::vector<IdxSet> findIdxSets(const QString& dir);

struct IdxImport {
  QString folder;      // the PNG files
  QString labelsFile;  // `name label` lines, label = class index
  long count = 0;
};

// Writes the first `limit` images (0: all) of `set` into `outDir`. A finished import there
// is reused. Throws swinscope::Error naming the file when engine/idx.h read_idx refuses it.
IdxImport importIdx(const IdxSet& set, const QString& outDir, long limit, const JobToken& token,
                    const std::function<void(long done, long total)>& progress);

}  // namespace swinscope::gui
