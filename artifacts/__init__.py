"""What passes between the stages, readable by any of them: the shard format and the newest shard set
(manifest.py), tokenizer loading (tokenizer.py; training stays in transforms), the text grammar the model is
trained on (grammar.py), the model architecture (architecture.py), LoRA adapters (lora.py), checkpoints
(checkpoint.py), generation defaults (sampling.py) and the llama.cpp runtime (llama_runtime.py).

It imports only the lake (and third-party libraries): transforms write these artifacts, trainers and
exporters read them, and none of the stages imports another against the data flow.
"""
