"""CLIP weights from outside the project: local files (open_clip / OpenAI state dicts, .safetensors, OpenAI's
TorchScript archives, ViFi-CLIP checkpoints) and open_clip hub tags. Every file is read as data: no TorchScript is
run, torch.load keeps weights_only=True. src/clip/models/backbone.py builds the model from what these return."""
