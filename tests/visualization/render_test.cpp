// Rendering: colormaps (against cv::applyColorMap), overlay arithmetic and grid layout.

#include <sstream>
#include <vector>

#include <ATen/ATen.h>
#include "support/catch_torch.h"
#include "visualization/exact_tensor.h"
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "nn_interpretability/visualization.h"

namespace vis = nn_interpretability::visualization;
using nni_vis_test::check_equal;
using nni_vis_test::show;

namespace {

// The RGB colour at pixel (y, x) of a [3, H, W] tensor.
std::vector<float> rgb_at(const at::Tensor& image, int64_t y, int64_t x) {
  return {image[0][y][x].item<float>(), image[1][y][x].item<float>(), image[2][y][x].item<float>()};
}

// A [3, size, size] tile of one colour (0..255 per channel).
at::Tensor solid(int r, int g, int b, int64_t size) {
  return at::tensor({r / 255.0f, g / 255.0f, b / 255.0f}).view({3, 1, 1}).expand({3, size, size}).contiguous();
}

}  // namespace

TEST_CASE("OpenCV colormaps match cv::applyColorMap at 0, 0.5 and 1", "[visualization][colormap]") {
  const std::vector<std::pair<vis::Colormap, int>> maps = {
      {vis::Colormap::Jet, cv::COLORMAP_JET},         {vis::Colormap::Viridis, cv::COLORMAP_VIRIDIS},
      {vis::Colormap::Inferno, cv::COLORMAP_INFERNO}, {vis::Colormap::Magma, cv::COLORMAP_MAGMA},
      {vis::Colormap::Plasma, cv::COLORMAP_PLASMA},   {vis::Colormap::Hot, cv::COLORMAP_HOT},
      {vis::Colormap::Bone, cv::COLORMAP_BONE},       {vis::Colormap::Cividis, cv::COLORMAP_CIVIDIS},
      {vis::Colormap::Turbo, cv::COLORMAP_TURBO}};
  // 0.5 * 255 + 0.5 = 128 after floor.
  cv::Mat gray(1, 3, CV_8UC1);
  gray.at<std::uint8_t>(0, 0) = 0;
  gray.at<std::uint8_t>(0, 1) = 128;
  gray.at<std::uint8_t>(0, 2) = 255;
  const at::Tensor map = at::tensor({0.0f, 0.5f, 1.0f}).view({1, 1, 1, 3});
  for (const auto& [colormap, code] : maps) {
    INFO("OpenCV colormap code " << code);
    cv::Mat bgr;
    cv::applyColorMap(gray, bgr, code);
    const at::Tensor rgb = vis::apply_colormap(map, colormap);
    REQUIRE(rgb.sizes() == at::IntArrayRef({1, 3, 1, 3}));
    for (int x = 0; x < 3; ++x) {
      const cv::Vec3b expected = bgr.at<cv::Vec3b>(0, x);
      CHECK(rgb[0][0][0][x].item<float>() * 255.0f == Approx(expected[2]).margin(1e-3));  // R
      CHECK(rgb[0][1][0][x].item<float>() * 255.0f == Approx(expected[1]).margin(1e-3));  // G
      CHECK(rgb[0][2][0][x].item<float>() * 255.0f == Approx(expected[0]).margin(1e-3));  // B
    }
  }
}

TEST_CASE("Jet is blue at 0 and red at 1 in RGB order", "[visualization][colormap]") {
  const at::Tensor rgb = vis::apply_colormap(at::tensor({0.0f, 1.0f}).view({1, 2}), vis::Colormap::Jet);
  const auto low = rgb_at(rgb, 0, 0);
  const auto high = rgb_at(rgb, 0, 1);
  CHECK(low[2] > low[0]);   // blue dominates at 0
  CHECK(high[0] > high[2]); // red dominates at 1
}

TEST_CASE("The diverging map is blue at -1, white at 0 and red at 1", "[visualization][colormap]") {
  const at::Tensor map = at::tensor({-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 3.0f}).view({1, 6});
  const at::Tensor rgb = vis::apply_colormap(map, vis::Colormap::BlueWhiteRed);
  check_equal(rgb, at::tensor({0.0f, 0.5f, 1.0f, 1.0f, 1.0f, 1.0f,    // R
                               0.0f, 0.5f, 1.0f, 0.5f, 0.0f, 0.0f,    // G
                               1.0f, 1.0f, 1.0f, 0.5f, 0.0f, 0.0f})   // B
                       .view({3, 1, 6}));
  CHECK(vis::is_diverging(vis::Colormap::BlueWhiteRed));
  CHECK_FALSE(vis::is_diverging(vis::Colormap::Jet));
}

TEST_CASE("apply_colormap colours every example of a batch and clamps out-of-range values",
          "[visualization][colormap]") {
  const at::Tensor map = at::tensor({0.0f, 1.0f, -0.5f, 2.0f}).view({2, 1, 1, 2});
  const at::Tensor rgb = vis::apply_colormap(map, vis::Colormap::Gray);
  check_equal(rgb, at::tensor({0.0f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f, /**/ 0.0f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f})
                       .view({2, 3, 1, 2}));
  const at::Tensor table = vis::colormap_table(vis::Colormap::Viridis);
  REQUIRE(table.sizes() == at::IntArrayRef({256, 3}));
  check_equal(vis::apply_colormap(map, vis::Colormap::Viridis)[1].select(1, 0).select(1, 0), table[0]);
  check_equal(vis::apply_colormap(map, vis::Colormap::Viridis)[1].select(1, 0).select(1, 1), table[255]);
}

TEST_CASE("apply_colormap rejects multi-channel and NaN maps", "[visualization][colormap]") {
  CHECK_THROWS_WITH(vis::apply_colormap(at::zeros({1, 3, 2, 2}), vis::Colormap::Jet),
                    Catch::Matchers::Contains("one channel"));
  CHECK_THROWS_WITH(vis::apply_colormap(at::full({2, 2}, NAN), vis::Colormap::Jet),
                    Catch::Matchers::Contains("contains NaN"));
}

TEST_CASE("Overlay blends image and heatmap with weight alpha", "[visualization][overlay]") {
  const at::Tensor heat = at::tensor({1.0f, 0.0f, 0.0f}).view({1, 3, 1, 1});  // red
  const at::Tensor gray = at::full({1, 1, 1, 1}, 0.5f);
  check_equal(vis::overlay(heat, gray, vis::OverlayOptions().alpha(0.25)),
              at::tensor({0.625f, 0.375f, 0.375f}).view({1, 3, 1, 1}));
  check_equal(vis::overlay(heat, gray, vis::OverlayOptions().alpha(0.0)), at::full({1, 3, 1, 1}, 0.5f));
  check_equal(vis::overlay(heat, gray, vis::OverlayOptions().alpha(1.0)), heat);
  const at::Tensor rgb_image = at::tensor({0.0f, 0.5f, 1.0f}).view({3, 1, 1});  // unbatched RGB
  check_equal(vis::overlay(heat[0], rgb_image, vis::OverlayOptions().alpha(0.5)),
              at::tensor({0.5f, 0.25f, 0.5f}).view({3, 1, 1}));
}

TEST_CASE("Overlay colours a one-channel heatmap with the chosen colormap", "[visualization][overlay]") {
  const at::Tensor map = at::tensor({-1.0f, 0.0f, 1.0f}).view({1, 1, 1, 3});
  const at::Tensor image = at::zeros({1, 1, 1, 3});
  const at::Tensor out = vis::overlay(
      map, image, vis::OverlayOptions().alpha(1.0).colormap(vis::Colormap::BlueWhiteRed));
  check_equal(out, at::tensor({0.0f, 1.0f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 1.0f, 0.0f}).view({1, 3, 1, 3}));
}

TEST_CASE("Overlay un-normalizes a mean/std-normalized image first", "[visualization][overlay]") {
  // Raw pixel 0.75 normalized with mean 0.5, std 0.25 is 1.0; blended half with blue.
  const at::Tensor normalized = at::full({1, 1, 1, 1}, 1.0f);
  const at::Tensor blue = at::tensor({0.0f, 0.0f, 1.0f}).view({1, 3, 1, 1});
  check_equal(vis::overlay(blue, normalized, vis::OverlayOptions().alpha(0.5).mean({0.5}).stddev({0.25})),
              at::tensor({0.375f, 0.375f, 0.875f}).view({1, 3, 1, 1}));
  check_equal(vis::unnormalize(at::tensor({1.0f, -1.0f, 0.0f}).view({3, 1, 1}), {0.5, 0.5, 0.25}, {0.25, 0.25, 0.5}),
              at::tensor({0.75f, 0.25f, 0.25f}).view({3, 1, 1}));
  CHECK_THROWS_WITH(vis::overlay(blue, normalized.mul(2), vis::OverlayOptions()),
                    Catch::Matchers::Contains("outside [0, 1]"));
  CHECK_THROWS_WITH(vis::overlay(blue, at::zeros({1, 1, 2, 2})), Catch::Matchers::Contains("does not match"));
}

TEST_CASE("to_rgb repeats a gray image to three equal channels", "[visualization][overlay]") {
  const at::Tensor gray = at::tensor({0.0f, 0.25f}).view({1, 1, 1, 2});
  check_equal(vis::to_rgb(gray), at::tensor({0.0f, 0.25f, 0.0f, 0.25f, 0.0f, 0.25f}).view({1, 3, 1, 2}));
}

TEST_CASE("A rendered grid has the documented size and each tile fills its cell", "[visualization][grid]") {
  // 2 x 3 tiles of 8 px, each one solid colour, scaled to 16 px cells with 4 px gaps.
  const std::vector<std::vector<at::Tensor>> tiles = {
      {solid(255, 0, 0, 8), solid(0, 255, 0, 8), solid(0, 0, 255, 8)},
      {solid(255, 255, 0, 8), solid(0, 255, 255, 8), solid(128, 64, 32, 8)}};
  const auto options = vis::GridOptions().tile_size(16).padding(4);
  const cv::Mat grid = vis::render_grid(tiles, options);
  REQUIRE(grid.type() == CV_8UC3);
  CHECK(grid.cols == 4 + 3 * (16 + 4));
  CHECK(grid.rows == 4 + 2 * (16 + 4));
  const vis::GridLayout layout = vis::grid_layout(2, 3, options);
  CHECK(layout.width == grid.cols);
  CHECK(layout.height == grid.rows);
  CHECK(layout.cell(1, 2) == cv::Rect(4 + 2 * 20, 4 + 20, 16, 16));
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) {
      const cv::Rect cell = layout.cell(r, c);
      const at::Tensor tile = tiles[r][c];
      const cv::Vec3b expected(static_cast<std::uint8_t>(std::lround(tile[0][0][0].item<float>() * 255)),
                               static_cast<std::uint8_t>(std::lround(tile[1][0][0].item<float>() * 255)),
                               static_cast<std::uint8_t>(std::lround(tile[2][0][0].item<float>() * 255)));
      INFO("tile " << r << ", " << c);
      // Corners and centre of the cell hold the tile's colour, RGB order; the pixels just outside
      // are background.
      CHECK(grid.at<cv::Vec3b>(cell.y, cell.x) == expected);
      CHECK(grid.at<cv::Vec3b>(cell.y + 15, cell.x + 15) == expected);
      CHECK(grid.at<cv::Vec3b>(cell.y + 8, cell.x + 8) == expected);
      CHECK(grid.at<cv::Vec3b>(cell.y - 1, cell.x - 1) == cv::Vec3b(255, 255, 255));
      CHECK(grid.at<cv::Vec3b>(cell.y + 16, cell.x + 16) == cv::Vec3b(255, 255, 255));
    }
  }
}

TEST_CASE("Tile captions add one text band below every row and are drawn under their tile", "[visualization][grid]") {
  const std::vector<std::vector<at::Tensor>> tiles = {{solid(255, 0, 0, 8), solid(0, 255, 0, 8)},
                                                      {solid(0, 0, 255, 8), solid(0, 0, 0, 8)}};
  const auto plain = vis::GridOptions().tile_size(64).padding(4);  // wide enough for "p=0.99"
  auto captioned = plain;
  captioned.tile_captions({{"p=0.99", ""}, {"", "7"}});
  const vis::GridLayout without = vis::grid_layout(2, 2, plain);
  const vis::GridLayout with = vis::grid_layout(2, 2, captioned);
  REQUIRE(with.caption_height > 0);
  CHECK(without.caption_height == 0);
  CHECK(with.height == without.height + 2 * with.caption_height);
  CHECK(with.width == without.width);
  CHECK(with.cell(1, 1).y == without.cell(1, 1).y + with.caption_height);
  const cv::Mat grid = vis::render_grid(tiles, captioned);
  REQUIRE(grid.rows == with.height);
  // Text pixels (not background) in the band under tile (0, 0) and (1, 1), none under (0, 1).
  auto ink_below = [&](int r, int c) {
    const cv::Rect cell = with.cell(r, c);
    cv::Mat band = grid(cv::Rect(cell.x, cell.y + cell.height, cell.width, with.caption_height));
    cv::Mat gray;
    cv::cvtColor(band, gray, cv::COLOR_RGB2GRAY);
    return cv::countNonZero(gray < 200);
  };
  CHECK(ink_below(0, 0) > 0);
  CHECK(ink_below(1, 1) > 0);
  CHECK(ink_below(0, 1) == 0);
  CHECK_THROWS_WITH(vis::render_grid(tiles, vis::GridOptions().tile_captions({{"a", "b", "c"}})),
                    Catch::Matchers::Contains("3 tile captions in row 0 for 2 columns"));
}

TEST_CASE("Grid tiles are upscaled with nearest neighbour into whole blocks", "[visualization][grid]") {
  // A 2 x 2 gray checkerboard scaled to 8 px: four 4 x 4 blocks.
  const at::Tensor checker = at::tensor({0.0f, 1.0f, 1.0f, 0.0f}).view({1, 2, 2});
  const cv::Mat grid = vis::render_grid({{checker}}, vis::GridOptions().tile_size(8).padding(0));
  REQUIRE(grid.size() == cv::Size(8, 8));
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) {
      const std::uint8_t expected = ((y / 4) + (x / 4)) % 2 == 1 ? 255 : 0;
      CHECK(grid.at<cv::Vec3b>(y, x) == cv::Vec3b(expected, expected, expected));
    }
  }
}

TEST_CASE("Titles and labels move the cells and draw text outside them", "[visualization][grid]") {
  const std::vector<std::vector<at::Tensor>> tiles = {{solid(255, 0, 0, 28), solid(0, 0, 255, 28)},
                                                      {solid(0, 255, 0, 28)}};  // short row
  const auto options = vis::GridOptions()
                           .tile_size(112)
                           .column_titles({"input image", "integrated gradients"})
                           .row_labels({"digit 7", "digit 1"});
  const cv::Mat grid = vis::render_grid(tiles, options);
  const vis::GridLayout layout = vis::grid_layout(2, 2, options);
  CHECK(layout.title_height > 0);
  CHECK(layout.label_width > 0);
  REQUIRE(grid.size() == cv::Size(layout.width, layout.height));
  CHECK(grid.at<cv::Vec3b>(layout.cell(0, 0).y + 56, layout.cell(0, 0).x + 56) == cv::Vec3b(255, 0, 0));
  CHECK(grid.at<cv::Vec3b>(layout.cell(0, 1).y, layout.cell(0, 1).x) == cv::Vec3b(0, 0, 255));
  CHECK(grid.at<cv::Vec3b>(layout.cell(1, 0).y + 111, layout.cell(1, 0).x + 111) == cv::Vec3b(0, 255, 0));
  CHECK(grid.at<cv::Vec3b>(layout.cell(1, 1).y + 56, layout.cell(1, 1).x + 56) == cv::Vec3b(255, 255, 255));
  // Some text pixels (not background) in the title band and in the label band.
  cv::Mat gray;
  cv::cvtColor(grid, gray, cv::COLOR_RGB2GRAY);
  CHECK(cv::countNonZero(gray(cv::Rect(0, 0, layout.width, layout.title_height)) < 128) > 0);
  CHECK(cv::countNonZero(gray(cv::Rect(0, layout.title_height, layout.label_width, layout.height - layout.title_height)) < 128) > 0);
  CHECK_THROWS_WITH(vis::render_grid(tiles, vis::GridOptions().column_titles({"a", "b", "c"})),
                    Catch::Matchers::Contains("3 column titles for 2 columns"));
}

TEST_CASE("SLIC superpixels follow colour edges and come out connected and numbered 0..K-1", "[superpixels]") {
  // Four flat quadrants of different colours, 24 x 24, four segments asked: the quadrants.
  at::Tensor image = at::zeros({1, 3, 24, 24});
  image.slice(2, 0, 12).slice(3, 0, 12).select(1, 0).fill_(1.0);   // red top-left
  image.slice(2, 0, 12).slice(3, 12).select(1, 1).fill_(1.0);      // green top-right
  image.slice(2, 12).slice(3, 0, 12).select(1, 2).fill_(1.0);      // blue bottom-left
  image.slice(2, 12).slice(3, 12).fill_(0.5);                       // grey bottom-right
  const at::Tensor ids = vis::slic_superpixels(image, vis::SlicOptions().segments(4));
  REQUIRE(ids.sizes() == at::IntArrayRef({1, 1, 24, 24}));
  REQUIRE(ids.scalar_type() == at::kLong);
  CHECK(ids.max().item<int64_t>() == 3);
  for (int64_t qy : {0, 12})
    for (int64_t qx : {0, 12}) {
      const at::Tensor quadrant = ids.slice(2, qy, qy + 12).slice(3, qx, qx + 12);
      CHECK((quadrant == quadrant.flatten()[0]).all().item<bool>());  // one id per quadrant
    }
  // Smooth grey noise with many segments: ids 0..K-1 all used, each one 4-connected region.
  at::manual_seed(3);
  const at::Tensor noise = at::upsample_bilinear2d(at::rand({2, 1, 6, 8}), {30, 40}, /*align_corners=*/false);
  const at::Tensor many = vis::slic_superpixels(noise, vis::SlicOptions().segments(30));
  for (int64_t n = 0; n < 2; ++n) {
    const at::Tensor one = many[n][0];
    const int64_t count = one.max().item<int64_t>() + 1;
    CHECK(count >= 10);
    CHECK(count <= 60);
    CHECK(std::get<0>(at::_unique(one.flatten())).numel() == count);
    // Connectivity: flood each id from one of its pixels and reach all of its pixels.
    const auto a = one.accessor<int64_t, 2>();
    for (int64_t id = 0; id < count; ++id) {
      std::vector<std::pair<int64_t, int64_t>> stack;
      std::vector<char> seen(30 * 40, 0);
      int64_t total = 0;
      for (int64_t y = 0; y < 30; ++y)
        for (int64_t x = 0; x < 40; ++x)
          if (a[y][x] == id) {
            ++total;
            if (stack.empty() && !seen[y * 40 + x]) {
              stack.push_back({y, x});
              seen[y * 40 + x] = 1;
            }
          }
      int64_t reached = 0;
      while (!stack.empty()) {
        auto [y, x] = stack.back();
        stack.pop_back();
        ++reached;
        const int64_t dy[4] = {-1, 1, 0, 0}, dx[4] = {0, 0, -1, 1};
        for (int k = 0; k < 4; ++k) {
          const int64_t ny = y + dy[k], nx = x + dx[k];
          if (ny < 0 || ny >= 30 || nx < 0 || nx >= 40 || seen[ny * 40 + nx] || a[ny][nx] != id) continue;
          seen[ny * 40 + nx] = 1;
          stack.push_back({ny, nx});
        }
      }
      CHECK(reached == total);
    }
  }
  CHECK_THROWS_WITH(vis::slic_superpixels(at::rand({1, 2, 8, 8})), Catch::Contains("1 or 3 channels"));
  CHECK_THROWS_WITH(vis::slic_superpixels(at::rand({1, 3, 8, 8}), vis::SlicOptions().segments(0)),
                    Catch::Contains("segments must be >= 1"));
}
