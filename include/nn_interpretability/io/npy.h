#pragma once
// NumPy interop: reading and writing `.npy` files (the format of numpy.save / numpy.load).
//
// The format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html): the magic
// "\x93NUMPY", a version byte pair, a little-endian header length (2 bytes for version 1.0, 4 bytes
// for 2.0 and 3.0), an ASCII (3.0: UTF-8) Python dict literal
// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and ending in a
// newline, then the raw data.

#include <string>

#include <torch/types.h>

namespace nn_interpretability {

/// Reads a `.npy` file into a CPU tensor of the file's dtype and shape (a 0-d file gives a 0-d tensor).
///
/// Supported: versions 1.0, 2.0 and 3.0; C and Fortran order (a Fortran-order file is returned as an
/// ordinary contiguous tensor with the same element at the same index); the dtypes float32 ('<f4'),
/// float64 ('<f8'), int64 ('<i8'), int32 ('<i4'), uint8 ('|u1') and bool ('|b1'), little-endian.
/// Throws a c10::ValueError naming the file and the problem: "read_npy: cannot open '<path>' for
/// reading: <problem>" for a missing or unreadable file or one that is not a regular file ("no such
/// file", "is a directory", "is not a regular file (a FIFO)" — refused before anything is read, so a
/// FIFO or /dev/zero cannot hang the reader); "read_npy: '<path>': <problem>" for a bad magic string,
/// an unsupported version, a header that is not a valid dict, an unsupported dtype (big-endian,
/// complex, object, structured, ...), and data that does not match the shape (truncated or with
/// trailing bytes). Malformed input never crashes: every length is checked against the file size
/// before anything is allocated.
///
/// Example:
///   torch::Tensor images = nn_interpretability::read_npy("images.npy");  // e.g. [N, 3, 224, 224] float32
torch::Tensor read_npy(const std::string& path);

/// Writes `tensor` as a version 1.0 `.npy` file: little-endian, C order, the header padded with spaces
/// so that the data starts at a multiple of 64 bytes, as numpy.save does. The tensor may live on any
/// device and be non-contiguous. Supported dtypes: float32, float64, int64, int32, uint8 and bool;
/// any other raises a c10::TypeError. The file is written atomically: to a temporary file in the same
/// directory, flushed and renamed over `path`, so a failed write (e.g. "No space left on device") or a
/// concurrent writer never leaves a truncated file and an existing file stays intact until the new
/// one is complete. Throws a c10::ValueError naming the path and the system's reason when the file
/// cannot be written (the temporary file is then removed).
///
/// Example:
///   nn_interpretability::write_npy("attributions.npy", attributions);  // numpy.load reads it back
void write_npy(const std::string& path, const torch::Tensor& tensor);

}  // namespace nn_interpretability
