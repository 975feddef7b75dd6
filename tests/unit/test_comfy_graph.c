/* test_comfy_graph.c — unit tests for ComfyUI graphs (src/domain/comfy_graph.c;
 * docs/comfyui.md, "Graphs and placeholders"): the load-time check (nodes,
 * class_type, inputs, links, placeholder names and syntax), typed
 * substitution (a whole placeholder keeps the value's type, one inside a
 * longer string becomes its text, "{{{{" is a literal) and the models a
 * graph loads. */
#define UNIT_MAIN
#include "unit.h"

#include <stdbool.h>

#include "cJSON.h"
#include "domain/comfy_graph.h"
#include "infra/config.h"

static char err[512];

/* A preset "sdxl" with params prompt, seed, steps, cfg, hires, ckpt. */
static bb_param PARAMS[] = {
    {.name = "prompt", .type = BB_PT_TEXT, .declared = true},
    {.name = "seed", .type = BB_PT_SEED, .declared = true},
    {.name = "steps", .type = BB_PT_INT, .declared = true},
    {.name = "cfg", .type = BB_PT_FLOAT, .declared = true},
    {.name = "hires", .type = BB_PT_BOOL, .declared = true},
    {.name = "ckpt", .type = BB_PT_STRING, .declared = true},
};
static bb_preset PRESET = {.id = "sdxl", .params = PARAMS,
                           .nparams = sizeof PARAMS / sizeof PARAMS[0]};

/* A small text-to-image graph in API format. */
static const char GRAPH[] =
    "{\"4\": {\"class_type\": \"CheckpointLoaderSimple\","
    "         \"inputs\": {\"ckpt_name\": \"{{ckpt}}\"}},"
    " \"10\": {\"class_type\": \"LoraLoader\", \"inputs\": {\"lora_name\": \"a.safetensors\","
    "         \"model\": [\"4\", 0], \"clip\": [\"4\", 1], \"strength_model\": 0.8}},"
    " \"6\": {\"class_type\": \"CLIPTextEncode\", \"_meta\": {\"title\": \"Positive\"},"
    "         \"inputs\": {\"text\": \"{{prompt}}, steps {{steps}} {{{{x}}\","
    "                    \"clip\": [\"10\", 1]}},"
    " \"3\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": \"{{seed}}\","
    "         \"steps\": \"{{steps}}\", \"cfg\": \"{{cfg}}\", \"model\": [\"10\", 0],"
    "         \"positive\": [\"6\", 0], \"denoise\": 1}},"
    " \"9\": {\"class_type\": \"SaveImage\", \"inputs\": {\"images\": [\"3\", 0],"
    "         \"filename_prefix\": \"bb_{{seed}}_{{hires}}\", \"tiled\": \"{{hires}}\"}}}";

static const char PARAMS_JSON[] =
    "{\"prompt\": \"a cat\", \"seed\": 9007199254740991, \"steps\": 25, \"cfg\": 7.5,"
    " \"hires\": true, \"ckpt\": \"sd_xl_base_1.0.safetensors\"}";

/* comfy_graph_check of JSON text g against PRESET: its result; the
 * message in err. */
static int check_text(const char *g)
{
    cJSON *j = cJSON_Parse(g);
    err[0] = '\0';
    int rc = j ? comfy_graph_check(j, &PRESET, err, sizeof err) : -2;
    cJSON_Delete(j);
    return rc;
}

/* The check must fail with a message containing want. */
static void expect_bad_(const char *file, int line, const char *g, const char *want)
{
    int rc = check_text(g);
    if (rc != -1)
        unit_fail_(file, line, "check returned %d for %s", rc, g);
    else if (strstr(err, want) == NULL)
        unit_fail_(file, line, "message \"%s\" lacks \"%s\"", err, want);
}
#define EXPECT_BAD(g, want) expect_bad_(__FILE__, __LINE__, g, want)

/* Substitutes PARAMS_JSON (or params) into g; caller deletes. */
static cJSON *subst(const char *g, const char *params)
{
    cJSON *gj = cJSON_Parse(g), *pj = cJSON_Parse(params ? params : PARAMS_JSON);
    err[0] = '\0';
    cJSON *out = (gj && pj) ? comfy_graph_substitute(gj, pj, err, sizeof err) : NULL;
    cJSON_Delete(gj);
    cJSON_Delete(pj);
    return out;
}

static const cJSON *input(const cJSON *g, const char *node, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(g, node), "inputs"),
        name);
}

TEST(check_accepts_good_graph)
{
    CHECK_EQ_INT(check_text(GRAPH), 0);
}

TEST(check_without_preset_checks_only_syntax)
{
    cJSON *j = cJSON_Parse("{\"1\": {\"class_type\": \"X\", \"inputs\": {\"a\": \"{{any}}\"}}}");
    CHECK(j != NULL);
    CHECK_EQ_INT(comfy_graph_check(j, NULL, err, sizeof err), 0);
    cJSON_Delete(j);
}

TEST(check_refuses_non_graphs)
{
    EXPECT_BAD("[1, 2]", "not a JSON object");
    EXPECT_BAD("{}", "no nodes");
    EXPECT_BAD("{\"1\": 5}", "node 1 is not an object");
}

TEST(check_refuses_missing_class_type)
{
    EXPECT_BAD("{\"1\": {\"inputs\": {}}}", "node 1 has no class_type");
    EXPECT_BAD("{\"1\": {\"class_type\": \"\", \"inputs\": {}}}", "node 1 has no class_type");
    EXPECT_BAD("{\"1\": {\"class_type\": 3, \"inputs\": {}}}", "node 1 has no class_type");
    /* the UI format (nodes/links arrays) is not the API format */
    EXPECT_BAD("{\"nodes\": [], \"links\": []}", "node nodes is not an object");
}

TEST(check_refuses_missing_inputs)
{
    EXPECT_BAD("{\"1\": {\"class_type\": \"A\"}}", "node 1 (A) has no inputs object");
    EXPECT_BAD("{\"1\": {\"class_type\": \"A\", \"inputs\": []}}", "no inputs object");
}

TEST(check_links)
{
    EXPECT_BAD("{\"1\": {\"class_type\": \"A\", \"inputs\": {\"m\": [\"7\", 0]}}}",
               "node 1 input m: links to node 7, which the graph lacks");
    EXPECT_BAD("{\"1\": {\"class_type\": \"A\", \"inputs\": {\"m\": [\"1\", -1]}}}",
               "node 1 input m: a link is");
    EXPECT_BAD("{\"1\": {\"class_type\": \"A\", \"inputs\": {\"m\": [\"1\", 0.5]}}}",
               "a link is");
    EXPECT_BAD("{\"1\": {\"class_type\": \"A\", \"inputs\": {\"m\": [1, 0]}}}", "a link is");
    EXPECT_BAD("{\"1\": {\"class_type\": \"A\", \"inputs\": {\"m\": [\"1\"]}}}", "a link is");
    EXPECT_BAD("{\"1\": {\"class_type\": \"A\", \"inputs\": {\"m\": [\"1\", 0, 1]}}}",
               "a link is");
    CHECK_EQ_INT(check_text("{\"1\": {\"class_type\": \"A\", \"inputs\": {}},"
                            " \"2\": {\"class_type\": \"B\", \"inputs\": {\"m\": [\"1\", 2]}}}"),
                 0);
}

TEST(check_unknown_param_names_node_and_input)
{
    EXPECT_BAD("{\"6\": {\"class_type\": \"CLIPTextEncode\","
               " \"inputs\": {\"text\": \"a {{promt}}\"}}}",
               "node 6 input text: {{promt}} is not a param of preset sdxl");
    EXPECT_BAD("{\"6\": {\"class_type\": \"A\", \"_meta\": {\"title\": \"{{nope}}\"},"
               " \"inputs\": {}}}",
               "node 6 _meta: {{nope}} is not a param");
}

TEST(check_bad_braces)
{
    EXPECT_BAD("{\"6\": {\"class_type\": \"A\", \"inputs\": {\"text\": \"{{ prompt }}\"}}}",
               "node 6 input text: '{{' starts no {{name}}");
    EXPECT_BAD("{\"6\": {\"class_type\": \"A\", \"inputs\": {\"text\": \"x {{prompt\"}}}",
               "starts no");
    EXPECT_BAD("{\"6\": {\"class_type\": \"A\", \"inputs\": {\"text\": \"{{}}\"}}}",
               "starts no");
    /* the escape is fine, and "}}" alone is plain text */
    CHECK_EQ_INT(check_text("{\"6\": {\"class_type\": \"A\","
                            " \"inputs\": {\"text\": \"{{{{prompt}} }}\"}}}"),
                 0);
}

TEST(substitute_keeps_types)
{
    cJSON *g = subst(GRAPH, NULL);
    CHECK(g != NULL);
    const cJSON *seed = input(g, "3", "seed"), *steps = input(g, "3", "steps");
    const cJSON *cfg = input(g, "3", "cfg"), *tiled = input(g, "9", "tiled");
    CHECK(cJSON_IsNumber(seed) && seed->valuedouble == 9007199254740991.0);
    CHECK(cJSON_IsNumber(steps) && steps->valueint == 25);
    CHECK(cJSON_IsNumber(cfg) && cfg->valuedouble == 7.5);
    CHECK(cJSON_IsTrue(tiled));
    CHECK_STR_EQ(input(g, "4", "ckpt_name")->valuestring, "sd_xl_base_1.0.safetensors");
    /* untouched literals and links stay */
    CHECK(cJSON_IsNumber(input(g, "3", "denoise")));
    CHECK_STR_EQ(cJSON_GetArrayItem(input(g, "3", "model"), 0)->valuestring, "10");
    cJSON_Delete(g);
}

TEST(substitute_text_inside_longer_string)
{
    cJSON *g = subst(GRAPH, NULL);
    CHECK(g != NULL);
    CHECK_STR_EQ(input(g, "6", "text")->valuestring, "a cat, steps 25 {{x}}");
    CHECK_STR_EQ(input(g, "9", "filename_prefix")->valuestring, "bb_9007199254740991_true");
    cJSON_Delete(g);
}

TEST(substitute_escape_is_literal)
{
    cJSON *g = subst("{\"1\": {\"class_type\": \"A\", \"inputs\":"
                     " {\"t\": \"{{{{prompt}}\", \"u\": \"{{{{{{prompt}}\"}}}",
                     NULL);
    CHECK(g != NULL);
    CHECK_STR_EQ(input(g, "1", "t")->valuestring, "{{prompt}}");
    CHECK_STR_EQ(input(g, "1", "u")->valuestring, "{{a cat");
    cJSON_Delete(g);
}

TEST(substitute_missing_value_names_input)
{
    cJSON *g = subst(GRAPH, "{\"prompt\": \"a\", \"steps\": 3, \"cfg\": 1, \"hires\": false,"
                            " \"ckpt\": \"x\"}");
    CHECK(g == NULL);
    CHECK(strstr(err, "node 3 input seed: {{seed}} has no value") != NULL);
    g = subst("{\"1\": {\"class_type\": \"A\", \"inputs\": {\"t\": \"x {{seed}}\"}}}",
              "{\"seed\": null}");
    CHECK(g == NULL);
    CHECK(strstr(err, "node 1 input t: {{seed}} has no value") != NULL);
}

TEST(substitute_nested_and_meta)
{
    cJSON *g = subst("{\"1\": {\"class_type\": \"A\", \"_meta\": {\"title\": \"{{prompt}}!\"},"
                     " \"inputs\": {\"list\": {\"deep\": [\"{{steps}}\"]}}}}",
                     NULL);
    CHECK(g != NULL);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(g, "1"), "_meta");
    CHECK_STR_EQ(cJSON_GetObjectItem(meta, "title")->valuestring, "a cat!");
    const cJSON *deep = cJSON_GetObjectItem(input(g, "1", "list"), "deep");
    CHECK(cJSON_IsNumber(cJSON_GetArrayItem(deep, 0)));
    cJSON_Delete(g);
}

TEST(substitute_does_not_touch_the_original)
{
    cJSON *gj = cJSON_Parse(GRAPH), *pj = cJSON_Parse(PARAMS_JSON);
    CHECK(gj && pj);
    cJSON *out = comfy_graph_substitute(gj, pj, err, sizeof err);
    CHECK(out != NULL);
    CHECK_STR_EQ(input(gj, "3", "seed")->valuestring, "{{seed}}");
    cJSON_Delete(out);
    cJSON_Delete(gj);
    cJSON_Delete(pj);
}

TEST(models_by_loader_input)
{
    cJSON *g = subst(GRAPH, NULL);
    CHECK(g != NULL);
    cJSON *m = comfy_graph_models(g);
    CHECK(m != NULL);
    char *s = cJSON_PrintUnformatted(m);
    CHECK_STR_EQ(s, "{\"checkpoints\":[\"sd_xl_base_1.0.safetensors\"],"
                    "\"loras\":[\"a.safetensors\"]}");
    free(s);
    cJSON_Delete(m);
    cJSON_Delete(g);
}

/* Checks that graph (JSON text) needs exactly the models want (JSON text);
 * a failure is recorded in the calling test. */
static void check_models(const char *graph, const char *want)
{
    cJSON *g = cJSON_Parse(graph);
    cJSON *m = g ? comfy_graph_models(g) : NULL;
    char *s = m ? cJSON_PrintUnformatted(m) : NULL;
    cJSON_Delete(m);
    cJSON_Delete(g);
    if (s == NULL || strcmp(s, want) != 0)
        unit_fail_(__FILE__, __LINE__, "models of %.200s: %.200s, want %.200s", graph,
                   s ? s : "(none)", want);
    free(s);
}

TEST(models_every_folder_once)
{
    check_models(
        "{\"1\": {\"class_type\": \"A\", \"inputs\": {\"ckpt_name\": \"c\", \"vae_name\": \"v.pt\"}},"
        " \"2\": {\"class_type\": \"B\", \"inputs\": {\"ckpt_name\": \"c\", \"unet_name\": \"u\","
        " \"clip_name\": \"t\", \"control_net_name\": \"n\", \"upscale_model_name\": \"x\","
        " \"lora_name\": \"\", \"other\": \"o\"}}}",
        "{\"checkpoints\":[\"c\"],\"vae\":[\"v.pt\"],\"diffusion_models\":[\"u\"],"
        "\"text_encoders\":[\"t\"],\"controlnet\":[\"n\"],\"upscale_models\":[\"x\"]}");
    cJSON *m = comfy_graph_models(NULL);
    CHECK(m != NULL && m->child == NULL);
    cJSON_Delete(m);
}

/* The class decides where clip_name points; VAELoader's built-in decoders
 * are no file to look for. */
TEST(models_by_class_clip_vision_and_builtin_vae)
{
    check_models(
        "{\"1\": {\"class_type\": \"CLIPVisionLoader\", \"inputs\": {\"clip_name\": \"h.bin\"}},"
        " \"2\": {\"class_type\": \"CLIPLoader\", \"inputs\": {\"clip_name\": \"t5.bin\"}},"
        " \"3\": {\"class_type\": \"VAELoader\", \"inputs\": {\"vae_name\": \"taesdxl\"}}}",
        "{\"clip_vision\":[\"h.bin\"],\"text_encoders\":[\"t5.bin\"]}");
    CHECK_STR_EQ(comfy_model_folder("CLIPVisionLoader", "clip_name"), "clip_vision");
    CHECK_STR_EQ(comfy_model_folder(NULL, "lora_name"), "loras");
    CHECK(comfy_model_folder("KSampler", "seed") == NULL);
}
