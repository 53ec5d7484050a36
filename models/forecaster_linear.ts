# The NLinear-style baseline of models/forecaster.cpp: one linear map from the
# window of the target to the horizon, no attention (zeros).
def forecast_linear(self, x: Tensor, times: Tensor) -> Tuple[Tensor, Tensor]:
    forecast = self.linear(x.select(2, self.target), self.linear_map.weight, self.linear_map.bias)
    attention = torch.zeros([x.size(0), self.horizon, self.input_len], dtype=x.dtype, device=x.device)
    return forecast, attention
