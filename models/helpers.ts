# The one helper every exported model's TorchScript uses: aten::linear, as the
# C++ modules call it (y = x W^T + b; b may be None).
def linear(self, x: Tensor, w: Tensor, b: Optional[Tensor]) -> Tensor:
    return torch.linear(x, w, b)
