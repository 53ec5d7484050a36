# The exported glimpse classifier's preprocess: uint8 images (B,S,S) grey or
# (B,S,S,3) RGB to the network's input (B,1,S,S) or (B,3,S,S), floats in
# [0,1], as glimpse_input (tasks/glimpse.h).
def preprocess(self, pixels: Tensor) -> Tensor:
    if pixels.dim() == 4:
        return pixels.permute(0, 3, 1, 2).to(dtype=6).div(255.0)
    return pixels.unsqueeze(1).to(dtype=6).div(255.0)
