// libFuzzer target: the IDX readers (MNIST / Fashion-MNIST), plain and gzip.
//
// The input is used three ways:
//  1. as a plain file named `...-idx-ubyte` (when it happens to start with the gzip magic
//     1f 8b, the reader takes the gzip path and sees corrupt or valid gzip data);
//  2. as the same bytes under a `.gz` name (the format is detected from the content, not the
//     name, so this checks that the name changes nothing);
//  3. gzip-compressed by the harness (zlib, valid stream) under a `.gz` name, so that every
//     mutation of the IDX content also goes through the streaming inflater.
// Readers: read_idx_ubyte (with and without a limit), read_idx_images, read_idx_labels and
// read_idx (images + labels pair). c10::Error is the documented failure; anything else that
// escapes, and any sanitizer report, is a finding.

#include <nn_interpretability/data/idx.h>

#include "fuzz_common.h"

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

namespace {

std::vector<std::uint8_t> gzip(const std::uint8_t* data, std::size_t size) {
  z_stream zs{};
  // windowBits 15 + 16: write a gzip header and trailer.
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    std::abort();
  std::vector<std::uint8_t> out(deflateBound(&zs, static_cast<uLong>(size)) + 32);
  zs.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(data));
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace nd = nn_interpretability::data;
  static const nni_fuzz::ScratchFile plain("images-idx3-ubyte");
  static const nni_fuzz::ScratchFile raw_gz("raw-idx3-ubyte.gz");
  static const nni_fuzz::ScratchFile packed_gz("packed-idx3-ubyte.gz");

  // A limit in -1..3 taken from the last byte (-1 must be rejected with c10::ValueError).
  const std::optional<int64_t> limit =
      size > 0 ? std::optional<int64_t>(static_cast<int64_t>(data[size - 1] % 5) - 1)
               : std::nullopt;

  const std::string& p = plain.write(data, size);
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_idx_ubyte(p); });
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_idx_ubyte(p, limit); });
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_idx_images(p); });
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_idx_labels(p, limit); });

  const std::string& r = raw_gz.write(data, size);
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_idx_ubyte(r); });

  const std::vector<std::uint8_t> packed = gzip(data, size);
  const std::string& g = packed_gz.write(packed.data(), packed.size());
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_idx_ubyte(g); });
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_idx_images(g, limit); });
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_idx_labels(g); });
  // A pair: the same file as images and (gzip) labels; the count check must hold or throw.
  nni_fuzz::expect_ok_or_c10_error([&] { (void)nd::read_idx(p, g, limit); });
  return 0;
}
