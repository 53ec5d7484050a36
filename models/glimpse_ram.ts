# TorchScript port of RecurrentAttentionModel (models/glimpse.cpp) at
# evaluation (each glimpse at the policy's mean), a template that export/export.cpp
# fills in: patch, scales and zoom are the sensor's, hidden the core's size,
# glimpses their number, core the line that updates the core state (rectifier
# or LSTM cell). The sensor: per scale an affine grid centred on the location,
# bilinear sampling with zeros outside, average pooling down to the patch.
def sensor(self, images: Tensor, where: Tensor) -> Tensor:
    batch = images.size(0)
    channels = images.size(1)
    patches: List[Tensor] = []
    side = {patch}
    for k in range({scales}):
        theta = torch.zeros([batch, 2, 3], dtype=images.dtype, device=images.device)
        theta[:, 0, 0] = float(side) / float(images.size(3))
        theta[:, 1, 1] = float(side) / float(images.size(2))
        theta[:, :, 2] = where
        grid = torch.affine_grid_generator(theta, [batch, channels, side, side], False)
        p = torch.grid_sampler(images, grid, 0, 0, False)
        if side > {patch}:
            p = torch.avg_pool2d(p, [side // {patch}, side // {patch}])
        patches.append(p)
        side = side * {zoom}
    return torch.cat(patches, 1)

def forward(self, images: Tensor) -> Tuple[Tensor, Tensor]:
    h = torch.zeros([images.size(0), {hidden}], dtype=images.dtype, device=images.device)
    c = torch.zeros_like(h)
    locations: List[Tensor] = []
    for t in range({glimpses}):
        where = torch.tanh(self.linear(h, self.ram.policy.weight, self.ram.policy.bias)).clamp(-1.0, 1.0)
        locations.append(where)
        rho = self.sensor(images, where).flatten(1)
        seen = self.linear(torch.relu(self.linear(rho, self.ram.patch_in.weight, self.ram.patch_in.bias)),
                           self.ram.glimpse_out.weight, self.ram.glimpse_out.bias)
        place = self.linear(torch.relu(self.linear(where, self.ram.location_in.weight, self.ram.location_in.bias)),
                            self.ram.location_out.weight, self.ram.location_out.bias)
        g = torch.relu(seen + place)
        {core}
    logits = self.linear(h, self.ram.classifier.weight, self.ram.classifier.bias)
    return logits, torch.stack(locations, 1)
