"""Neural network models: backbones.py (VGG16, EfficientNet-Lite0), localization.py (the
staged joint belief + depth network of paper III-B) and the instance model."""
