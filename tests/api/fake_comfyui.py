"""A fake ComfyUI server for the batchbox tests and benchmark (docs/comfyui.md, "The fake").

It follows the HTTP and WebSocket behaviour of ComfyUI's server.py, execution.py and main.py's
prompt worker (the 0.3.3x-0.3.4x line; see docs/comfyui.md for what was read), not what
batchbox happens to expect:
- every route is served both as /x and /api/x;
- POST /prompt validates the graph like execution.validate_prompt (invalid_prompt,
  prompt_no_outputs, prompt_outputs_failed_validation with per-node errors such as
  required_input_missing, value_not_in_list, return_type_mismatch, value_smaller_than_min)
  and queues it on ONE worker ordered by `number` (`front` puts it first);
- the worker runs the nodes in dependency order, caches nodes whose inputs did not change since
  the previous prompt (execution_cached), sends executing / progress / executed and then
  execution_success | execution_error | execution_interrupted, writes the history and sends
  `executing` with node null; messages go only to the submitting client_id (dropped when it is
  not connected; without a client_id the node messages are broadcast, as ComfyUI does);
- SaveImage / PreviewImage write real PNG files (pixels derived from seed, prompt text and
  steps); VHS_VideoCombine writes an mp4 made with ffmpeg; SaveAnimatedWEBP an animated webp.
Test switches live under /__fake/ (not ComfyUI's): config, prompts, requests, release, finished.

Runs with Debian's python3 + python3-aiohttp:  fake_comfyui.py --port P --name NAME
[--models JSON] [--version V] [--dir D]; prints "READY <port>" once it listens.
All state is owned by the single asyncio loop (one thread)."""

import argparse
import asyncio
import hashlib
import heapq
import json
import os
import re
import shutil
import struct
import sys
import tempfile
import time
import traceback
import uuid
import zlib

from aiohttp import web, WSMsgType

DEFAULT_MODELS = {
    "checkpoints": ["sd_xl_base_1.0.safetensors", "v1-5-pruned-emaonly.safetensors"],
    "loras": [],
    "vae": ["sdxl_vae.safetensors"],
}
# The folder names ComfyUI's folder_paths registers (GET /models lists these keys).
FOLDERS = ["checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models",
           "clip_vision", "style_models", "embeddings", "diffusers", "vae_approx", "controlnet",
           "gligen", "upscale_models", "custom_nodes", "hypernetworks", "photomaker",
           "classifiers"]
SAMPLERS = ["euler", "euler_ancestral", "heun", "dpm_2", "dpm_2_ancestral", "lms", "dpmpp_2m",
            "dpmpp_2m_sde", "dpmpp_3m_sde", "ddim", "uni_pc"]
SCHEDULERS = ["normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform",
              "beta"]
VIDEO_FORMATS = ["image/gif", "image/webp", "video/h264-mp4"]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_INT = 0xffffffffffffffff
MAXIMUM_HISTORY_SIZE = 10000
SERVER_FEATURES = {"supports_preview_metadata": True, "max_upload_size": 100 * 1024 * 1024}

DEFAULT_CONFIG = {
    "step_ms": 20,          # sleep per sampler step
    "steps": 4,             # progress messages per sampler; None: the node's own `steps`
    "hold": False,          # queued prompts wait until POST /__fake/release
    "node_error": None,     # {"node", "message"}: validation fails on that node (400)
    "exec_error": None,     # {"node", "message", "type"?}: that node raises while running
    "drop_socket": False,   # close every socket when a prompt starts, refuse WS a while
    "drop_socket_ms": 500,
    "die_mid_prompt": False,  # os._exit during sampling (a crash)
    "hang": False,          # API routes never answer (until hang is switched off)
    "garbage": False,       # API routes answer 200 with a body that is not JSON
    "output_bytes": 0,      # pad each PNG to at least this many bytes
    "no_models_route": False,  # 404 on /models and /models/{folder} (older ComfyUI)
    "video": True,          # False: VHS_VideoCombine fails as when ffmpeg is missing
    "final_executing": True,  # False: no `executing {node: null}` after a prompt (some
                              # recent ComfyUI revisions end with execution_success only)
    "ignore_prompt_id": False,  # True: a given prompt_id is ignored and a new one minted
                                # (ComfyUI before client-minted ids)
}


def now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------- node catalogue


def _models(state, folder):
    return list(state.models.get(folder, []))


def node_catalogue(state):
    """Node class -> its definition in the shape of ComfyUI's INPUT_TYPES / RETURN_TYPES."""
    inputs = sorted(os.listdir(state.dirs["input"])) if os.path.isdir(state.dirs["input"]) else []
    inputs = [f for f in inputs if os.path.isfile(os.path.join(state.dirs["input"], f))]
    seed = ("INT", {"default": 0, "min": 0, "max": MAX_INT, "control_after_generate": True})
    return {
        "CheckpointLoaderSimple": {
            "required": {"ckpt_name": (_models(state, "checkpoints"),
                                       {"tooltip": "The name of the checkpoint to load."})},
            "out": ("MODEL", "CLIP", "VAE"), "category": "loaders",
            "display": "Load Checkpoint"},
        "LoraLoader": {
            "required": {"model": ("MODEL",), "clip": ("CLIP",),
                         "lora_name": (_models(state, "loras"),),
                         "strength_model": ("FLOAT", {"default": 1.0, "min": -100.0,
                                                      "max": 100.0, "step": 0.01}),
                         "strength_clip": ("FLOAT", {"default": 1.0, "min": -100.0,
                                                     "max": 100.0, "step": 0.01})},
            "out": ("MODEL", "CLIP"), "category": "loaders", "display": "Load LoRA"},
        "VAELoader": {
            "required": {"vae_name": (_models(state, "vae"),)},
            "out": ("VAE",), "category": "loaders", "display": "Load VAE"},
        "CLIPTextEncode": {
            "required": {"text": ("STRING", {"multiline": True, "dynamicPrompts": True}),
                         "clip": ("CLIP",)},
            "out": ("CONDITIONING",), "category": "conditioning",
            "display": "CLIP Text Encode (Prompt)"},
        "EmptyLatentImage": {
            "required": {"width": ("INT", {"default": 512, "min": 16, "max": 16384, "step": 8}),
                         "height": ("INT", {"default": 512, "min": 16, "max": 16384, "step": 8}),
                         "batch_size": ("INT", {"default": 1, "min": 1, "max": 4096})},
            "out": ("LATENT",), "category": "latent", "display": "Empty Latent Image"},
        "KSampler": {
            "required": {"model": ("MODEL",), "seed": seed,
                         "steps": ("INT", {"default": 20, "min": 1, "max": 10000}),
                         "cfg": ("FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0,
                                           "step": 0.1, "round": 0.01}),
                         "sampler_name": (SAMPLERS,), "scheduler": (SCHEDULERS,),
                         "positive": ("CONDITIONING",), "negative": ("CONDITIONING",),
                         "latent_image": ("LATENT",),
                         "denoise": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0,
                                               "step": 0.01})},
            "out": ("LATENT",), "category": "sampling", "display": "KSampler"},
        "VAEDecode": {
            "required": {"samples": ("LATENT",), "vae": ("VAE",)},
            "out": ("IMAGE",), "category": "latent", "display": "VAE Decode"},
        "VAEEncode": {
            "required": {"pixels": ("IMAGE",), "vae": ("VAE",)},
            "out": ("LATENT",), "category": "latent", "display": "VAE Encode"},
        "LoadImage": {
            "required": {"image": (inputs, {"image_upload": True})},
            "out": ("IMAGE", "MASK"), "category": "image", "display": "Load Image",
            "validate": "image_exists"},
        "SaveImage": {
            "required": {"images": ("IMAGE",),
                         "filename_prefix": ("STRING", {"default": "ComfyUI"})},
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
            "out": (), "output_node": True, "category": "image", "display": "Save Image"},
        "PreviewImage": {
            "required": {"images": ("IMAGE",)},
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
            "out": (), "output_node": True, "category": "image", "display": "Preview Image"},
        "SaveAnimatedWEBP": {
            "required": {"images": ("IMAGE",),
                         "filename_prefix": ("STRING", {"default": "ComfyUI"}),
                         "fps": ("FLOAT", {"default": 6.0, "min": 0.01, "max": 1000.0,
                                           "step": 0.01}),
                         "lossless": ("BOOLEAN", {"default": True}),
                         "quality": ("INT", {"default": 80, "min": 0, "max": 100}),
                         "method": (["default", "fastest", "slowest"],)},
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
            "out": (), "output_node": True, "category": "image/animation",
            "display": "SaveAnimatedWEBP"},
        "VHS_VideoCombine": {
            "required": {"images": ("IMAGE",),
                         "frame_rate": ("FLOAT", {"default": 8, "min": 1, "step": 1}),
                         "loop_count": ("INT", {"default": 0, "min": 0, "max": 100, "step": 1}),
                         "filename_prefix": ("STRING", {"default": "AnimateDiff"}),
                         "format": (VIDEO_FORMATS,),
                         "pingpong": ("BOOLEAN", {"default": False}),
                         "save_output": ("BOOLEAN", {"default": True})},
            "optional": {"audio": ("AUDIO",), "vae": ("VAE",)},
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO",
                       "unique_id": "UNIQUE_ID"},
            "out": ("VHS_FILENAMES",), "output_node": True,
            "category": "Video Helper Suite \U0001f3a5\U0001f150\U0001f125\U0001f122",
            "display": "Video Combine \U0001f3a5\U0001f150\U0001f125\U0001f122",
            "module": "custom_nodes.ComfyUI-VideoHelperSuite"},
    }


def node_info(name, d):
    """One /object_info entry, shaped like server.py's node_info()."""
    inp = {"required": {k: list(v) for k, v in d["required"].items()}}
    if d.get("optional"):
        inp["optional"] = {k: list(v) for k, v in d["optional"].items()}
    if d.get("hidden"):
        inp["hidden"] = dict(d["hidden"])
    return {
        "input": inp,
        "input_order": {k: list(v.keys()) for k, v in inp.items()},
        "output": list(d["out"]),
        "output_is_list": [False] * len(d["out"]),
        "output_name": list(d["out"]),
        "name": name,
        "display_name": d.get("display", name),
        "description": "",
        "python_module": d.get("module", "nodes"),
        "category": d.get("category", "sd"),
        "output_node": bool(d.get("output_node")),
    }


# ---------------------------------------------------------------- validation


def _err(typ, message, details="", extra=None):
    return {"type": typ, "message": message, "details": details, "extra_info": extra or {}}


def _validate_node(state, cat, prompt, node_id, validated):
    """validate_inputs for one node, recursively through its linked inputs; fills
    validated[node_id] = (ok, reasons, node_id) and returns it."""
    if node_id in validated:
        return validated[node_id]
    node = prompt[node_id]
    class_type = node["class_type"]
    d = cat[class_type]
    inputs = node.get("inputs", {})
    if not isinstance(inputs, dict):
        inputs = {}
    errors = []
    valid = True
    spec = dict(d["required"])
    spec.update(d.get("optional", {}))
    for name, conf in spec.items():
        if name not in inputs:
            if name in d["required"]:
                errors.append(_err("required_input_missing", "Required input is missing", name,
                                   {"input_name": name}))
                valid = False
            continue
        val = inputs[name]
        typ = conf[0]
        opts = conf[1] if len(conf) > 1 else {}
        extra = {"input_name": name, "input_config": list(conf), "received_value": val}
        if isinstance(val, list):
            if len(val) != 2:
                errors.append(_err("bad_linked_input", "Bad linked input, must be a length-2 "
                                   "list of [node_id, slot_index]", name, extra))
                valid = False
                continue
            o_id = str(val[0])
            o_class = prompt[o_id]["class_type"]   # KeyError -> exception_during_validation
            outs = cat[o_class]["out"]
            received = outs[val[1]]
            if received != typ and typ != "*":
                errors.append(_err("return_type_mismatch", "Return type mismatch between "
                                   "linked nodes", f"{name}, received_type({received}) "
                                   f"mismatch input_type({typ})",
                                   {"input_name": name, "input_config": list(conf),
                                    "received_type": received, "linked_node": val}))
                valid = False
                continue
            try:
                r = _validate_node(state, cat, prompt, o_id, validated)
                if r[0] is False:
                    valid = False
            except Exception as ex:  # noqa: BLE001 - mirrors ComfyUI's broad catch
                valid = False
                errors.append(_err("exception_during_inner_validation",
                                   "Exception when validating inner node", str(ex),
                                   {"input_name": name, "input_config": list(conf),
                                    "exception_message": str(ex),
                                    "exception_type": type(ex).__name__,
                                    "traceback": traceback.format_tb(ex.__traceback__),
                                    "linked_node": val}))
            continue
        if isinstance(typ, list):
            if d.get("validate") == "image_exists" and name == "image":
                path = os.path.join(state.dirs["input"], str(val))
                if not os.path.isfile(path) or ".." in str(val):
                    errors.append(_err("custom_validation_failed",
                                       "Custom validation failed for node",
                                       f"{name} - Invalid image file: {val}", extra))
                    valid = False
                continue
            if val not in typ:
                info = f"(list of length {len(typ)})" if len(typ) > 20 else str(typ)
                if len(typ) > 20:
                    extra["input_config"] = None
                errors.append(_err("value_not_in_list", "Value not in list",
                                   f"{name}: '{val}' not in {info}", extra))
                valid = False
            continue
        try:
            if typ == "INT":
                val = int(val)
            elif typ == "FLOAT":
                val = float(val)
            elif typ == "STRING":
                val = str(val)
            elif typ == "BOOLEAN":
                val = bool(val)
            else:
                continue
            inputs[name] = val
        except (TypeError, ValueError) as ex:
            errors.append(_err("invalid_input_type",
                               f"Failed to convert an input value to a {typ} value",
                               f"{name}, {val}, {ex}", extra))
            valid = False
            continue
        if "min" in opts and val < opts["min"]:
            errors.append(_err("value_smaller_than_min",
                               f"Value {val} smaller than min of {opts['min']}", name, extra))
            valid = False
        if "max" in opts and val > opts["max"]:
            errors.append(_err("value_bigger_than_max",
                               f"Value {val} bigger than max of {opts['max']}", name, extra))
            valid = False
    ne = state.config.get("node_error")
    if isinstance(ne, dict) and str(ne.get("node")) == node_id:
        errors.append(_err("custom_validation_failed", "Custom validation failed for node",
                           str(ne.get("message", "node error")), {}))
        valid = False
    validated[node_id] = (valid, errors, node_id)
    return validated[node_id]


def validate_prompt(state, prompt, partial_targets=None):
    """(ok, error, outputs, node_errors) like execution.validate_prompt."""
    cat = node_catalogue(state)
    outputs = set()
    for x in prompt:
        node = prompt[x]
        if not isinstance(node, dict) or "class_type" not in node:
            return (False, _err("invalid_prompt", "Cannot execute because a node is missing "
                                "the class_type property.", f"Node ID '#{x}'"), [], {})
        class_type = node["class_type"]
        if class_type not in cat:
            title = (node.get("_meta") or {}).get("title", class_type)
            return (False, _err("missing_node_type", f"Node '{title}' not found. The custom "
                                "node may not be installed.", f"Node ID '#{x}'",
                                {"node_id": x, "class_type": class_type, "node_title": title}),
                    [], {})
        if cat[class_type].get("output_node"):
            if partial_targets is None or x in partial_targets:
                outputs.add(x)
    if not outputs:
        return (False, _err("prompt_no_outputs", "Prompt has no outputs"), [], {})
    good, errors, node_errors, validated = [], [], {}, {}
    for o in sorted(outputs, key=_node_sort_key):
        try:
            ok, reasons, _ = _validate_node(state, cat, prompt, o, validated)
        except Exception as ex:  # noqa: BLE001 - ComfyUI catches everything here too
            ok = False
            reasons = [_err("exception_during_validation", "Exception when validating node",
                            str(ex), {"exception_type": type(ex).__name__,
                                      "traceback": traceback.format_tb(ex.__traceback__)})]
            validated[o] = (False, reasons, o)
        if ok is True:
            good.append(o)
        else:
            errors.append((o, reasons))
            for node_id, (v, rs, _) in validated.items():
                if v is not True and rs:
                    if node_id not in node_errors:
                        node_errors[node_id] = {"errors": rs, "dependent_outputs": [],
                                                "class_type": prompt[node_id]["class_type"]}
                    node_errors[node_id]["dependent_outputs"].append(o)
    if not good:
        lines = []
        for _o, es in errors:
            for e in es:
                lines.append(f"{e['message']}: {e['details']}")
        return (False, _err("prompt_outputs_failed_validation", "Prompt outputs failed "
                            "validation", "\n".join(lines)), good, node_errors)
    return (True, None, good, node_errors)


def _node_sort_key(node_id):
    return (0, int(node_id), "") if str(node_id).isdigit() else (1, 0, str(node_id))


# ---------------------------------------------------------------- outputs


def png_bytes(seed_text, width, height, text_chunks, pad_to=0):
    """A real RGB PNG whose pixels are a function of seed_text (zlib + struct only)."""
    h = hashlib.sha256(seed_text.encode("utf-8")).digest()
    red = bytes((h[0] + x * (h[3] | 1)) & 255 for x in range(width))
    blue = [(h[2] + v * (h[5] | 1)) & 255 for v in range(256)]
    rows = []
    for y in range(height):
        px = bytearray(3 * width)
        px[0::3] = red
        px[1::3] = bytes(((h[1] + y * (h[4] | 1)) & 255,)) * width
        px[2::3] = bytes(blue[(x ^ y) & 255] for x in range(width))
        rows.append(b"\x00" + bytes(px))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                              8, 2, 0, 0, 0))
    for k, v in text_chunks:
        out += chunk(b"tEXt", k.encode("latin-1") + b"\x00" + v.encode("latin-1", "replace"))
    out += chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
    end = chunk(b"IEND", b"")
    missing = pad_to - (len(out) + len(end))
    if missing > 0:
        # a private ancillary chunk: decoders skip it
        out += chunk(b"fkPd", b"\x00" * max(0, missing - 12))
    return out + end


def next_counter(folder, prefix, ext):
    """ComfyUI's counter: one more than the highest NNNNN in PREFIX_NNNNN_.EXT."""
    best = 0
    if os.path.isdir(folder):
        pat = re.compile(re.escape(prefix) + r"_(\d{5})_?\." + re.escape(ext) + "$")
        for f in os.listdir(folder):
            m = pat.match(f)
            if m:
                best = max(best, int(m.group(1)))
    return best + 1


def split_prefix(root, prefix):
    """(folder, subfolder, file prefix) for a filename_prefix that may hold a subfolder."""
    prefix = str(prefix)
    sub = os.path.dirname(os.path.normpath(prefix))
    base = os.path.basename(os.path.normpath(prefix))
    folder = os.path.join(root, sub)
    if os.path.commonpath((os.path.abspath(root), os.path.abspath(folder))) != \
            os.path.abspath(root):
        raise RuntimeError("Saving image outside the output folder is not allowed."
                           f"\nfull_output_folder: {os.path.abspath(folder)}"
                           f"\n         output_dir: {root}")
    os.makedirs(folder, exist_ok=True)
    return folder, sub, base


class Interrupted(Exception):
    pass


class NodeFailure(Exception):
    def __init__(self, message, typ):
        super().__init__(message)
        self.typ = typ


# ---------------------------------------------------------------- server state


class State:
    """Everything the fake knows; owned by the event loop's thread."""

    def __init__(self, args):
        self.name = args.name
        self.version = args.version
        self.port = args.port
        self.models = dict(DEFAULT_MODELS)
        if args.models:
            self.models.update(json.loads(args.models))
        self.root = args.dir or tempfile.mkdtemp(prefix="fake-comfyui-")
        self.own_root = args.dir is None
        self.dirs = {t: os.path.join(self.root, t) for t in ("output", "input", "temp")}
        for d in self.dirs.values():
            os.makedirs(d, exist_ok=True)
        self.config = dict(DEFAULT_CONFIG)
        self.number = 0
        self.seq = 0
        self.queue = []            # heap of (number, seq, item)
        self.running = {}          # task id -> item
        self.history = {}          # prompt id -> entry (insertion ordered)
        self.sockets = {}          # client id -> WebSocketResponse
        self.client_id = None      # the running prompt's client id
        self.last_node_id = None
        self.interrupt = False
        self.refuse_ws_until = 0.0
        self.wake = asyncio.Event()
        self.prompts = []          # what POST /prompt received
        self.requests = []         # every request
        self.finished = {}         # prompt id -> ms of execution_success
        self.cache = {}            # node signature -> outputs (previous prompt's nodes)
        self.ui_cache = {}         # node signature -> ui output
        self.base_media = {}

    # queue -----------------------------------------------------------------
    def tasks_remaining(self):
        return len(self.queue) + len(self.running)

    def queue_info(self):
        return {"exec_info": {"queue_remaining": self.tasks_remaining()}}

    async def queue_updated(self):
        await self.send("status", {"status": self.queue_info()}, None)

    # sockets ---------------------------------------------------------------
    async def send(self, event, data, sid):
        msg = json.dumps({"type": event, "data": data})
        if sid is None:
            targets = list(self.sockets.values())
        elif sid in self.sockets:
            targets = [self.sockets[sid]]
        else:
            return
        for ws in targets:
            try:
                await ws.send_str(msg)
            except (ConnectionError, RuntimeError) as err:
                print(f"send error: {err}", file=sys.stderr)


# ---------------------------------------------------------------- execution


class Execution:
    """One prompt's run, like PromptExecutor.execute plus main.py's prompt_worker."""

    def __init__(self, state, item):
        self.s = state
        self.number, self.prompt_id, self.prompt, self.extra, self.outputs_to_execute = item[:5]
        self.status_messages = []
        self.outputs_ui = {}
        self.meta = {}
        self.executed = []
        self.success = False
        self.nodes_state = {}

    async def add_message(self, event, data, broadcast):
        data = dict(data, timestamp=now_ms())
        self.status_messages.append([event, data])
        if self.s.client_id is not None or broadcast:
            await self.s.send(event, data, self.s.client_id)

    def order(self):
        """Nodes needed by the outputs, dependencies first."""
        seen, out = set(), []

        def visit(nid):
            if nid in seen:
                return
            seen.add(nid)
            for v in self.prompt[nid].get("inputs", {}).values():
                if isinstance(v, list) and len(v) == 2:
                    visit(str(v[0]))
            out.append(nid)
        for o in sorted(self.outputs_to_execute, key=_node_sort_key):
            visit(o)
        return out

    def signatures(self, order):
        sig = {}
        for nid in order:
            node = self.prompt[nid]
            parts = [node["class_type"]]
            for k in sorted(node.get("inputs", {})):
                v = node["inputs"][k]
                if isinstance(v, list) and len(v) == 2:
                    parts.append((k, sig.get(str(v[0])), v[1]))
                else:
                    parts.append((k, json.dumps(v, sort_keys=True)))
            sig[nid] = hashlib.sha256(repr(parts).encode()).hexdigest()
        return sig

    async def run(self):
        s = self.s
        s.client_id = self.extra.get("client_id")
        s.interrupt = False
        await self.add_message("execution_start", {"prompt_id": self.prompt_id}, False)
        order = self.order()
        sigs = self.signatures(order)
        cached = [n for n in order if sigs[n] in s.cache]
        await self.add_message("execution_cached", {"nodes": cached,
                                                    "prompt_id": self.prompt_id}, False)
        values = {}
        new_cache, new_ui = {}, {}
        node_id = None
        try:
            for node_id in order:
                node = self.prompt[node_id]
                ct = node["class_type"]
                if node_id in cached:
                    values[node_id] = s.cache[sigs[node_id]]
                    new_cache[sigs[node_id]] = values[node_id]
                    await self.output_ui(node_id, sigs[node_id], s.ui_cache.get(sigs[node_id]),
                                         new_ui)
                    continue
                if s.interrupt:
                    raise Interrupted()
                s.last_node_id = node_id
                await s.send("executing", {"node": node_id, "display_node": node_id,
                                           "prompt_id": self.prompt_id}, s.client_id)
                await self.progress_state(node_id, "running")
                inputs = self.resolve(node, values)
                ee = s.config.get("exec_error")
                if isinstance(ee, dict) and str(ee.get("node")) == node_id:
                    raise NodeFailure(str(ee.get("message", "fake execution error")),
                                      str(ee.get("type", "RuntimeError")))
                outs, ui = await self.execute_node(node_id, ct, inputs)
                values[node_id] = outs
                new_cache[sigs[node_id]] = outs
                self.executed.append(node_id)
                await self.progress_state(node_id, "finished", 1.0, 1.0)
                await self.output_ui(node_id, sigs[node_id], ui, new_ui)
            s.finished[self.prompt_id] = now_ms()
            await self.add_message("execution_success", {"prompt_id": self.prompt_id}, False)
            self.success = True
        except Interrupted:
            await self.add_message("execution_interrupted", {
                "prompt_id": self.prompt_id, "node_id": node_id,
                "node_type": self.prompt[node_id]["class_type"],
                "executed": list(self.executed)}, True)
        except Exception as ex:  # noqa: BLE001 - a node's failure, reported like ComfyUI
            typ = ex.typ if isinstance(ex, NodeFailure) else type(ex).__name__
            node = self.prompt[node_id]
            await self.add_message("execution_error", {
                "prompt_id": self.prompt_id, "node_id": node_id,
                "node_type": node["class_type"], "executed": list(self.executed),
                "exception_message": str(ex), "exception_type": typ,
                "traceback": traceback.format_tb(ex.__traceback__),
                "current_inputs": {k: [_fmt(v)] for k, v in node.get("inputs", {}).items()},
                "current_outputs": list(self.executed)}, False)
        # the cache keeps what this prompt computed (ComfyUI's classic cache)
        s.cache, s.ui_cache = new_cache, new_ui
        s.last_node_id = None

    async def output_ui(self, node_id, sig, ui, new_ui):
        """A node's UI output (None: it has none), cached or just computed: kept in new_ui
        under its signature, recorded for the history and sent as `executed`."""
        if ui is None:
            return
        new_ui[sig] = ui
        self.record_ui(node_id, ui)
        await self.s.send("executed", {"node": node_id, "display_node": node_id, "output": ui,
                                       "prompt_id": self.prompt_id}, self.s.client_id)

    async def progress_state(self, node_id, state, value=0.0, maximum=1.0):
        """The newer per-node progress message (comfy_execution/progress.py's shape)."""
        self.nodes_state[node_id] = {"value": value, "max": maximum, "state": state,
                                     "node_id": node_id, "prompt_id": self.prompt_id,
                                     "display_node_id": node_id, "parent_node_id": None,
                                     "real_node_id": node_id}
        await self.s.send("progress_state", {"prompt_id": self.prompt_id,
                                             "nodes": self.nodes_state}, self.s.client_id)

    def record_ui(self, node_id, ui):
        self.outputs_ui[node_id] = ui
        self.meta[node_id] = {"node_id": node_id, "display_node": node_id,
                              "parent_node": None, "real_node_id": node_id}

    def resolve(self, node, values):
        out = {}
        for k, v in node.get("inputs", {}).items():
            if isinstance(v, list) and len(v) == 2:
                out[k] = values[str(v[0])][v[1]]
            else:
                out[k] = v
        return out

    async def execute_node(self, node_id, ct, i):
        """(outputs tuple, ui dict or None) for one node."""
        s = self.s
        if ct == "CheckpointLoaderSimple":
            m = {"ckpt": i["ckpt_name"], "loras": []}
            return (m, dict(m), {"vae": i["ckpt_name"]}), None
        if ct == "LoraLoader":
            lora = f"{i['lora_name']}:{i.get('strength_model', 1.0)}"
            return (dict(i["model"], loras=i["model"]["loras"] + [lora]),
                    dict(i["clip"], loras=i["clip"]["loras"] + [lora])), None
        if ct == "VAELoader":
            return ({"vae": i["vae_name"]},), None
        if ct == "CLIPTextEncode":
            return ({"text": str(i["text"]), "clip": i["clip"]},), None
        if ct == "EmptyLatentImage":
            return ({"w": int(i["width"]), "h": int(i["height"]),
                     "batch": int(i["batch_size"]), "key": "empty"},), None
        if ct == "VAEEncode":
            img = i["pixels"]
            return ({"w": img["w"], "h": img["h"], "batch": img["batch"],
                     "key": img["key"]},), None
        if ct == "LoadImage":
            with open(os.path.join(s.dirs["input"], str(i["image"])), "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            return ({"w": 512, "h": 512, "batch": 1, "key": digest}, {"mask": digest}), None
        if ct == "KSampler":
            return (await self.sample(node_id, i),), None
        if ct == "VAEDecode":
            lat = i["samples"]
            return (dict(lat, vae=i["vae"]["vae"]),), None
        if ct in ("SaveImage", "PreviewImage"):
            return (), {"images": self.save_images(ct, i)}
        if ct == "SaveAnimatedWEBP":
            return (), {"images": [await self.save_media(i, "image/webp", "output")],
                        "animated": [True]}
        if ct == "VHS_VideoCombine":
            if not s.config.get("video"):
                raise NodeFailure("ffmpeg is required for video outputs and could not be "
                                  "found.", "Exception")
            kind = "output" if i.get("save_output", True) else "temp"
            entry = await self.save_media(i, str(i.get("format", "video/h264-mp4")), kind)
            entry["frame_rate"] = float(i.get("frame_rate", 8))
            return ((True, [entry["fullpath"]]),), {"gifs": [entry]}
        raise RuntimeError(f"the fake cannot run {ct}")

    async def sample(self, node_id, i):
        s = self.s
        steps = s.config.get("steps")
        steps = int(i["steps"]) if steps is None else int(steps)
        if s.config.get("die_mid_prompt"):
            os._exit(3)             # a crash: no reply, no history, sockets cut
        for step in range(1, steps + 1):
            if s.interrupt:
                raise Interrupted()
            ms = float(s.config.get("step_ms") or 0)
            await asyncio.sleep(ms / 1000.0)
            if s.interrupt:
                raise Interrupted()
            await s.send("progress", {"value": step, "max": steps, "prompt_id": self.prompt_id,
                                      "node": node_id}, s.client_id)
            await self.progress_state(node_id, "running", float(step), float(steps))
        lat = i["latent_image"]
        key = json.dumps([i["seed"], i["positive"]["text"], i["negative"]["text"], i["steps"],
                          i["cfg"], i["sampler_name"], i["scheduler"], i["model"],
                          lat.get("key")], sort_keys=True)
        return {"w": lat["w"], "h": lat["h"], "batch": lat["batch"],
                "key": hashlib.sha256(key.encode()).hexdigest()}

    def save_images(self, ct, i):
        s = self.s
        img = i["images"]
        kind = "output" if ct == "SaveImage" else "temp"
        prefix = i.get("filename_prefix", "ComfyUI") if ct == "SaveImage" else \
            "ComfyUI_temp_" + uuid.uuid4().hex[:5]
        folder, sub, base = split_prefix(s.dirs[kind], prefix)
        counter = next_counter(folder, base, "png")
        w = max(8, min(128, img["w"] // 16))
        h = max(8, min(128, img["h"] // 16))
        results = []
        for b in range(img["batch"]):
            name = f"{base}_{counter:05}_.png"
            counter += 1
            data = png_bytes(f"{img['key']}/{b}", w, h,
                             [("prompt", json.dumps(self.prompt))],
                             int(s.config.get("output_bytes") or 0))
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
            results.append({"filename": name, "subfolder": sub, "type": kind})
        return results

    async def save_media(self, i, fmt, kind):
        s = self.s
        ext = {"image/gif": "gif", "image/webp": "webp", "video/h264-mp4": "mp4"}.get(fmt)
        if ext is None:
            raise NodeFailure(f"Unknown format {fmt}", "Exception")
        base_file = await base_media(s, ext)
        folder, sub, base = split_prefix(s.dirs[kind], i.get("filename_prefix", "ComfyUI"))
        name = f"{base}_{next_counter(folder, base, ext):05}.{ext}"
        path = os.path.join(folder, name)
        tag = f"fake-comfyui {self.prompt_id} {i['images']['key']}"
        proc = await asyncio.create_subprocess_exec(
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", base_file,
            "-c", "copy", "-metadata", f"comment={tag}", path,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _out, err = await proc.communicate()
        if proc.returncode != 0:
            raise NodeFailure(f"ffmpeg failed: {err.decode(errors='replace')[-300:]}",
                              "Exception")
        entry = {"filename": name, "subfolder": sub, "type": kind}
        if kind == "output" and ext != "webp":
            entry.update(format=fmt, fullpath=path)
        return entry


async def base_media(s, ext):
    """A small real clip in this format, made once per process with ffmpeg."""
    if ext in s.base_media:
        return s.base_media[ext]
    path = os.path.join(s.root, f".base.{ext}")
    codec = {"mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
             "gif": [], "webp": ["-c:v", "libwebp_anim", "-loop", "0"]}[ext]
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
        "-i", "testsrc=size=64x64:rate=8:duration=1", *codec, path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _out, err = await proc.communicate()
    if proc.returncode != 0:
        raise NodeFailure(f"ffmpeg failed: {err.decode(errors='replace')[-300:]}", "Exception")
    s.base_media[ext] = path
    return path


def _fmt(v):
    if isinstance(v, (int, float, bool, str)) or v is None:
        return v
    return str(v)


async def worker(s):
    """main.py's prompt_worker: one prompt at a time, lowest number first."""
    while True:
        while not s.queue or s.config.get("hold"):
            s.wake.clear()
            await s.wake.wait()
        _number, _seq, item = heapq.heappop(s.queue)
        task_id = item[1]
        s.running[task_id] = item
        await s.queue_updated()
        if s.config.get("drop_socket"):
            s.refuse_ws_until = time.monotonic() + float(s.config.get("drop_socket_ms") or 0) / 1e3
            for ws in list(s.sockets.values()):
                await ws.close()
        e = Execution(s, item)
        try:
            await e.run()
        except Exception:  # noqa: BLE001 - the worker must survive whatever a prompt does
            traceback.print_exc()
        del s.running[task_id]
        status = {"status_str": "success" if e.success else "error",
                  "completed": e.success, "messages": e.status_messages}
        if len(s.history) >= MAXIMUM_HISTORY_SIZE:
            s.history.pop(next(iter(s.history)))
        s.history[e.prompt_id] = {"prompt": list(item[:5]), "outputs": e.outputs_ui,
                                  "status": status, "meta": e.meta}
        await s.queue_updated()
        if s.client_id is not None and s.config.get("final_executing"):
            await s.send("executing", {"node": None, "prompt_id": e.prompt_id}, s.client_id)


# ---------------------------------------------------------------- routes


def make_app(s):
    routes = web.RouteTableDef()

    @routes.get("/ws")
    async def ws_handler(request):
        if time.monotonic() < s.refuse_ws_until:
            return web.Response(status=503, text="fake: sockets refused for a while")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sid = request.rel_url.query.get("clientId", "")
        if sid:
            s.sockets.pop(sid, None)
        else:
            sid = uuid.uuid4().hex
        s.sockets[sid] = ws
        try:
            await s.send("status", {"status": s.queue_info(), "sid": sid}, sid)
            if s.client_id == sid and s.last_node_id is not None:
                await s.send("executing", {"node": s.last_node_id}, sid)
            first = True
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and first:
                    # an optional first message declares the client's feature flags
                    try:
                        m = json.loads(msg.data)
                    except ValueError:
                        m = None
                    if isinstance(m, dict) and m.get("type") == "feature_flags":
                        await s.send("feature_flags", SERVER_FEATURES, sid)
                first = False
                if msg.type == WSMsgType.ERROR:
                    print(f"ws connection closed with exception {ws.exception()}",
                          file=sys.stderr)
        finally:
            if s.sockets.get(sid) is ws:
                s.sockets.pop(sid, None)
        return ws

    @routes.get("/features")
    async def features(request):
        return web.json_response(SERVER_FEATURES)

    @routes.get("/embeddings")
    async def embeddings(request):
        return web.json_response([os.path.splitext(x)[0] for x in s.models.get("embeddings", [])])

    @routes.get("/models")
    async def list_model_types(request):
        if s.config.get("no_models_route"):
            return web.Response(status=404, text="404: Not Found")
        keys = list(FOLDERS) + [k for k in s.models if k not in FOLDERS]
        return web.json_response(keys)

    @routes.get("/models/{folder}")
    async def get_models(request):
        folder = request.match_info["folder"]
        if s.config.get("no_models_route"):
            return web.Response(status=404, text="404: Not Found")
        if folder not in FOLDERS and folder not in s.models:
            return web.Response(status=404)
        return web.json_response(sorted(s.models.get(folder, [])))

    def dir_by_type(t):
        return s.dirs.get(t)

    @routes.post("/upload/image")
    async def upload_image(request):
        post = await request.post()
        image = post.get("image")
        overwrite = post.get("overwrite")
        typ = post.get("type") or "input"
        upload_dir = dir_by_type(typ)
        if upload_dir is None:
            # ComfyUI's get_dir_by_type leaves the folder unset: an unhandled error, 500
            raise RuntimeError(f"unknown upload type {typ}")
        if not (image is not None and hasattr(image, "file") and image.file):
            return web.Response(status=400)
        filename = image.filename
        if not filename:
            return web.Response(status=400)
        subfolder = post.get("subfolder", "")
        full = os.path.join(upload_dir, os.path.normpath(subfolder))
        filepath = os.path.abspath(os.path.join(full, filename))
        if os.path.commonpath((upload_dir, filepath)) != upload_dir:
            return web.Response(status=400)
        os.makedirs(full, exist_ok=True)
        data = image.file.read()
        stem, ext = os.path.splitext(filename)
        duplicate = False
        if not (overwrite is not None and overwrite in ("true", "1")):
            n = 1
            while os.path.exists(filepath):
                with open(filepath, "rb") as f:
                    if hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest():
                        duplicate = True
                        break
                filename = f"{stem} ({n}){ext}"
                filepath = os.path.join(full, filename)
                n += 1
        if not duplicate:
            with open(filepath, "wb") as f:
                f.write(data)
        return web.json_response({"name": filename, "subfolder": subfolder, "type": typ})

    @routes.get("/view")
    async def view(request):
        q = request.rel_url.query
        if "filename" not in q:
            return web.Response(status=404)
        filename = q["filename"]
        output_dir = None
        for t in ("output", "input", "temp"):
            if filename.endswith(f" [{t}]"):
                filename = filename[:-len(t) - 3]
                output_dir = s.dirs[t]
        if filename[0] == "/" or ".." in filename:   # IndexError on "" -> 500, as ComfyUI
            return web.Response(status=400)
        if output_dir is None:
            output_dir = dir_by_type(q.get("type", "output"))
        if output_dir is None:
            return web.Response(status=400)
        if "subfolder" in q:
            full = os.path.join(output_dir, q["subfolder"])
            if os.path.commonpath((os.path.abspath(full), output_dir)) != output_dir:
                return web.Response(status=403)
            output_dir = full
        filename = os.path.basename(filename)
        path = os.path.join(output_dir, filename)
        if os.path.isfile(path):
            return web.FileResponse(path, headers={"Content-Disposition":
                                                   f'filename="{filename}"'})
        return web.Response(status=404)

    @routes.get("/system_stats")
    async def system_stats(request):
        gib = 1024 ** 3
        return web.json_response({
            "system": {"os": os.name, "ram_total": 64 * gib, "ram_free": 48 * gib,
                       "comfyui_version": s.version, "required_frontend_version": "1.21.7",
                       "installed_templates_version": "0.1.25",
                       "required_templates_version": "0.1.25",
                       "python_version": sys.version, "pytorch_version": "2.7.0+cu128",
                       "embedded_python": False, "argv": ["main.py", "--listen", "127.0.0.1",
                                                          "--port", str(s.port)]},
            "devices": [{"name": f"cuda:0 Fake GPU {s.name} : cudaMallocAsync", "type": "cuda",
                         "index": 0, "vram_total": 24 * gib, "vram_free": 22 * gib,
                         "torch_vram_total": 2 * gib, "torch_vram_free": gib}]})

    @routes.get("/object_info")
    async def object_info(request):
        return web.json_response({k: node_info(k, d) for k, d in node_catalogue(s).items()})

    @routes.get("/object_info/{node_class}")
    async def object_info_node(request):
        name = request.match_info["node_class"]
        cat = node_catalogue(s)
        return web.json_response({name: node_info(name, cat[name])} if name in cat else {})

    @routes.get("/prompt")
    async def get_prompt(request):
        return web.json_response(s.queue_info())

    @routes.post("/prompt")
    async def post_prompt(request):
        data = await request.json()            # a body that is not JSON: 500, like ComfyUI
        rec = {"prompt_id": None, "client_id": data.get("client_id"),
               "prompt": data.get("prompt"), "number": None, "at": now_ms(), "status": 400}
        s.prompts.append(rec)
        if "number" in data:
            number = float(data["number"])
        else:
            number = s.number
            if data.get("front"):
                number = -number
            s.number += 1
        rec["number"] = number
        if "prompt" not in data:
            err = _err("no_prompt", "No prompt provided", "No prompt provided")
            return web.json_response({"error": err, "node_errors": {}}, status=400)
        prompt = data["prompt"]
        given = data.get("prompt_id")
        if given is None or s.config.get("ignore_prompt_id"):
            given = None
        prompt_id = str(given) if given is not None else str(uuid.uuid4())
        rec["prompt_id"] = prompt_id
        if given is not None and not UUID_RE.match(prompt_id):
            err = _err("invalid_prompt_id", "prompt_id must be a valid UUID",
                       f"prompt_id '{prompt_id}' is not a lowercase hyphenated UUID")
            return web.json_response({"error": err, "node_errors": {}}, status=400)
        if not isinstance(prompt, dict):
            raise web.HTTPInternalServerError(text="500 Internal Server Error")
        valid = validate_prompt(s, prompt, data.get("partial_execution_targets"))
        extra = dict(data.get("extra_data") or {})
        if "client_id" in data:
            extra["client_id"] = data["client_id"]
        if not valid[0]:
            print(f"invalid prompt: {valid[1]}", file=sys.stderr)
            return web.json_response({"error": valid[1], "node_errors": valid[3]}, status=400)
        extra["create_time"] = now_ms()
        item = (number, prompt_id, prompt, extra, valid[2])
        s.seq += 1
        heapq.heappush(s.queue, (number, s.seq, item))
        rec["status"] = 200
        s.wake.set()
        await s.queue_updated()
        return web.json_response({"prompt_id": prompt_id, "number": number,
                                  "node_errors": valid[3]})

    @routes.get("/queue")
    async def get_queue(request):
        return web.json_response({"queue_running": [list(x) for x in s.running.values()],
                                  "queue_pending": [list(x[2]) for x in s.queue]})

    @routes.post("/queue")
    async def post_queue(request):
        data = await request.json()
        if data.get("clear"):
            s.queue = []
        if "delete" in data:
            for pid in data["delete"]:
                s.queue = [x for x in s.queue if x[2][1] != pid]
            heapq.heapify(s.queue)
        await s.queue_updated()
        return web.Response(status=200)

    @routes.post("/interrupt")
    async def post_interrupt(request):
        try:
            data = await request.json()
        except json.JSONDecodeError:
            data = {}
        pid = data.get("prompt_id") if isinstance(data, dict) else None
        if pid:
            if any(item[1] == pid for item in s.running.values()):
                s.interrupt = True
            else:
                print(f"Prompt {pid} is not currently running, skipping interrupt",
                      file=sys.stderr)
        else:
            s.interrupt = True
        return web.Response(status=200)

    @routes.post("/free")
    async def post_free(request):
        await request.json()
        return web.Response(status=200)

    @routes.get("/history")
    async def get_history(request):
        q = request.rel_url.query
        max_items = q.get("max_items")
        if max_items is not None:
            try:
                max_items = int(max_items)
            except ValueError:
                return web.Response(status=400, text="max_items must be an integer")
        offset = int(q.get("offset", -1))
        items = list(s.history.items())
        if offset < 0 and max_items is not None:
            offset = len(items) - max_items
        offset = max(offset, 0)
        end = len(items) if max_items is None else offset + max_items
        return web.json_response(dict(items[offset:end]))

    @routes.get("/history/{prompt_id}")
    async def get_history_one(request):
        pid = request.match_info["prompt_id"]
        return web.json_response({pid: s.history[pid]} if pid in s.history else {})

    @routes.post("/history")
    async def post_history(request):
        data = await request.json()
        if data.get("clear"):
            s.history.clear()
        for pid in data.get("delete", []):
            s.history.pop(pid, None)
        return web.Response(status=200)

    # ---- the fake's own control routes (not ComfyUI's)
    fake = web.RouteTableDef()

    @fake.post("/__fake/config")
    async def fake_config(request):
        data = await request.json()
        unknown = [k for k in data if k not in DEFAULT_CONFIG]
        if unknown:
            return web.json_response({"error": f"unknown switch {unknown[0]}"}, status=400)
        s.config.update(data)
        if not s.config.get("drop_socket"):
            s.refuse_ws_until = 0.0
        s.wake.set()
        return web.json_response(s.config)

    def state_reader(name):
        async def read_state(request):
            return web.json_response(getattr(s, name))
        return read_state

    # GET /__fake/NAME: the fake's state s.NAME as JSON, for the tests
    for name in ("config", "prompts", "requests", "finished"):
        fake.get(f"/__fake/{name}")(state_reader(name))

    @fake.post("/__fake/release")
    async def fake_release(request):
        s.config["hold"] = False
        s.wake.set()
        return web.json_response({"released": len(s.queue)})

    @web.middleware
    async def switches(request, handler):
        path = request.path
        if path.startswith("/__fake/"):
            return await handler(request)
        s.requests.append({"method": request.method, "path": path,
                           "query": request.query_string,
                           "content_type": request.headers.get("Content-Type", ""),
                           "at": now_ms()})
        plain = path[4:] if path.startswith("/api/") else path
        if plain != "/ws":
            while s.config.get("hang"):
                await asyncio.sleep(0.05)
            if s.config.get("garbage") and plain != "/view":
                return web.Response(status=200, text="<html>fake garbage, not JSON{",
                                    content_type="application/json")
        return await handler(request)

    app = web.Application(client_max_size=100 * 1024 * 1024, middlewares=[switches])
    api = web.RouteTableDef()
    for r in routes:
        api.route(r.method, "/api" + r.path)(r.handler)
    app.add_routes(api)
    app.add_routes(routes)
    app.add_routes(fake)
    return app


async def main_async(args):
    s = State(args)
    app = make_app(s)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, reuse_address=True)
    await site.start()
    print(f"READY {args.port}", flush=True)
    task = asyncio.ensure_future(worker(s))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        task.cancel()
        for ws in list(s.sockets.values()):
            await ws.close()
        await runner.cleanup()
        if s.own_root:
            shutil.rmtree(s.root, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", default="gpu1")
    p.add_argument("--models", default=None, help="JSON object: folder -> file names")
    p.add_argument("--version", default="0.3.40")
    p.add_argument("--dir", default=None, help="root of output/, input/, temp/")
    args = p.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
