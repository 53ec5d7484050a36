#pragma once
// Where the Recurrent Attention Model looked: the image, enlarged, with every
// glimpse drawn in order (colour going from blue, the first, to red, the
// last): one square per scale of the sensor, the glimpse's number at its
// centre, and a line from each glimpse to the next; a title line above.
#include <torch/torch.h>
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace attnzoo {

// image: (S,S) or (S,S,3) uint8. locations: (G,2), (x,y) in [-1,1] as the sensor takes
// them. sides: the pixel side of each scale of the sensor (glimpse_side()).
cv::Mat glimpse_path_figure(const torch::Tensor& image, const torch::Tensor& locations,
                            const std::vector<int64_t>& sides, const std::string& title,
                            int side = 384);
void write_glimpse_path(const std::string& png_path, const torch::Tensor& image,
                        const torch::Tensor& locations, const std::vector<int64_t>& sides,
                        const std::string& title, int side = 384);

// A location (x or y in [-1,1]) as a pixel coordinate on an image of `pixels`.
double location_to_pixel(double location, double pixels);

}  // namespace attnzoo
