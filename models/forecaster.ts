# TorchScript port of Forecaster (models/forecaster.cpp), a template that
# export/sequence_models.cpp fills in: offset is the instance normalisation's
# shift (the last value, the window mean or none), model "seq2seq" or "linear"
# (forecaster_seq2seq.ts or forecaster_linear.ts gives forecast_<model>),
# inputs the arguments of forward and times what it passes as calendar
# features (the values again when the model has none). The scaler is inside:
# values in the CSV's units in, forecasts in them out.
def predict(self, values: Tensor, times: Tensor) -> Tuple[Tensor, Tensor]:
    x = (values.to(self.value_mean.dtype) - self.value_mean) / self.value_std
    steps = self.input_len
    offset = {offset}
    forecast, attention = self.forecast_{model}(x - offset, times)
    forecast = forecast + offset.select(2, self.target)
    return forecast * self.value_std[self.target] + self.value_mean[self.target], attention

def forward(self, {inputs}) -> Tuple[Tensor, Tensor]:
    return self.predict(values, {times})
