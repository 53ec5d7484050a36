# The exported glimpse classifier's preprocess: uint8 images (B,S,S) to the
# network's input (B,1,S,S), floats in [0,1], as glimpse_input (tasks/glimpse.h).
def preprocess(self, pixels: Tensor) -> Tensor:
    return pixels.unsqueeze(1).to(dtype=6).div(255.0)
