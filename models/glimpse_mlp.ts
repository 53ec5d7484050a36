# TorchScript port of Mlp (models/glimpse.cpp), the fully connected net RAM is
# compared with. No glimpses.
def forward(self, images: Tensor) -> Tuple[Tensor, Tensor]:
    h = torch.relu(self.linear(images.flatten(1), self.mlp.fc1.weight, self.mlp.fc1.bias))
    h = torch.relu(self.linear(h, self.mlp.fc2.weight, self.mlp.fc2.bias))
    logits = self.linear(h, self.mlp.out.weight, self.mlp.out.bias)
    return logits, torch.zeros([images.size(0), 0, 2], dtype=images.dtype, device=images.device)
