"""A saved run put to use: reloaded to evaluate or predict, or exported to ONNX."""
