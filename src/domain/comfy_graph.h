/* comfy_graph.h — ComfyUI API-format graphs with {{param}} placeholders
 * (docs/comfyui.md, "Graphs and placeholders").  Pure functions over
 * cJSON; no I/O; thread-safe.
 *
 * A graph is what ComfyUI's "Save (API)" / "Export (API)" writes: an
 * object whose members are node ids ("3") holding {"class_type": "...",
 * "inputs": {...}} (and optionally "_meta").  An input is a literal or a
 * link ["4", 0] to another node's output.  In any JSON string of the
 * graph, "{{name}}" names a job param:
 *   - a string that is exactly "{{name}}" becomes the typed value (an int
 *     stays an int, a bool a bool);
 *   - inside a longer string it is replaced by the value's text
 *     (decimal numbers, true/false).
 * "{{{{" is a literal "{{". */
#ifndef BB_COMFY_GRAPH_H
#define BB_COMFY_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;
struct bb_preset;

/* Checks graph (parsed JSON) at configuration load: an object of at
 * least one node, each an object with a non-empty string class_type and
 * an object inputs; a link is [string node id that exists, integer >= 0];
 * every {{name}} is a param of p (declared or not: names used only in the
 * graph must be declared).  0, or -1 with a message naming the node and
 * input ("node 6 input text: {{promt}} is not a param of preset sdxl"). */
int comfy_graph_check(const struct cJSON *graph, const struct bb_preset *p, char *err,
                      size_t errlen);

/* A new graph (caller deletes) with every placeholder replaced from
 * params (the job's resolved typed params object; `file` params already
 * replaced by the name the server stored the upload under, by the
 * caller).  NULL with a message in err when a named param has no value
 * (an optional param left out that the graph still names) or out of
 * memory. */
struct cJSON *comfy_graph_substitute(const struct cJSON *graph, const struct cJSON *params,
                                     char *err, size_t errlen);

/* The names of the models the substituted graph loads, by catalogue
 * folder, for placement and messages: {"checkpoints": ["a.safetensors"],
 * "loras": [...]} from the inputs ComfyUI's loaders take (ckpt_name →
 * checkpoints, lora_name → loras, vae_name → vae, unet_name →
 * diffusion_models, clip_name → text_encoders, control_net_name →
 * controlnet, upscale_model_name → upscale_models; CLIPVisionLoader's
 * clip_name → clip_vision; VAELoader's built-in decoders such as "taesd"
 * are no file and left out).  A new object (caller deletes), possibly
 * empty; NULL when out of memory. */
struct cJSON *comfy_graph_models(const struct cJSON *graph);

/* The catalogue folder input `input` of a node of class class_type (may
 * be NULL) names a file of, or NULL when it is no model loader's input
 * (static strings). */
const char *comfy_model_folder(const char *class_type, const char *input);

#endif
