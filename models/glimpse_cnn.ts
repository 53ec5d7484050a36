# TorchScript port of ConvNet (models/glimpse.cpp), the whole-image CNN RAM is
# compared with: a template that export/export.cpp fills with its two
# convolutions as the modules have them (conv2d_source). No glimpses.
def forward(self, images: Tensor) -> Tuple[Tensor, Tensor]:
    y = torch.max_pool2d(torch.relu({conv1}), [2, 2])
    y = torch.max_pool2d(torch.relu({conv2}), [2, 2])
    h = torch.relu(self.linear(y.flatten(1), self.cnn.hidden.weight, self.cnn.hidden.bias))
    logits = self.linear(h, self.cnn.out.weight, self.cnn.out.bias)
    return logits, torch.zeros([images.size(0), 0, 2], dtype=images.dtype, device=images.device)
