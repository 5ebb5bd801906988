from torch import nn


def block(c_in, c_out):
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class ConvNet(nn.Module):
    def __init__(self, n_channels, n_classes):
        super().__init__()
        pool = dict(kernel_size=3, stride=2, padding=1)
        self.stage1 = nn.Sequential(*block(n_channels, 64), nn.MaxPool2d(**pool))
        self.stage2 = nn.Sequential(*block(64, 128), nn.MaxPool2d(**pool))
        self.stage3 = nn.Sequential(*block(128, 256), *block(256, 256), nn.MaxPool2d(**pool))
        self.stage4 = nn.Sequential(*block(256, 512), *block(512, 512), nn.MaxPool2d(**pool))
        self.stage5 = nn.Sequential(*block(512, 512), *block(512, 512), nn.MaxPool2d(**pool))
        self.fc = nn.Linear(512, n_classes)

    def forward(self, x):
        for stage in (self.stage1, self.stage2, self.stage3, self.stage4, self.stage5):
            x = stage(x)
        return self.fc(x.view(x.size(0), -1))
