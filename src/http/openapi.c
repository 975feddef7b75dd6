/* openapi.c — the OpenAPI 3.1 document of the HTTP API, generated from
 * the route table (routes.c): every route becomes an operation with its
 * path and query parameters, request body, success and error responses
 * and security, so a route cannot exist undocumented.  The schemas the
 * table names by string ("Job", "Session", ...) live in COMPONENTS below;
 * tests/api/test_ops.py validates the result with a real OpenAPI parser,
 * which also catches a name without a schema. */
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

/* The components object, written with ' for " so it stays readable (no
 * text in it may contain an apostrophe); parsed once per document. */
static const char COMPONENTS[] =
    "{'securitySchemes': {"
    "  'bearerAuth': {'type': 'http', 'scheme': 'bearer',"
    "    'description': 'An access token from /auth/login, /auth/register or /auth/refresh.'},"
    "  'cookieAuth': {'type': 'apiKey', 'in': 'cookie', 'name': 'bb_access',"
    "    'description': 'The browser cookie set at sign-in; unsafe methods also need the"
    " X-CSRF-Token header (the bb_csrf cookie value).'},"
    "  'metricsToken': {'type': 'http', 'scheme': 'bearer',"
    "    'description': 'The configured metrics.token (GET /metrics only).'}},"
    " 'schemas': {"
    "  'Error': {'type': 'object', 'required': ['error', 'message', 'details'],"
    "    'properties': {'error': {'type': 'string', 'examples': ['invalid']},"
    "      'message': {'type': 'string'},"
    "      'details': {'type': 'object', 'properties': {"
    "        'fields': {'type': 'object', 'additionalProperties': {'type': 'string'},"
    "          'description': 'each bad field and what is wrong with it'},"
    "        'requestId': {'type': 'string'}}}}},"
    "  'Health': {'type': 'object', 'required': ['status', 'db', 'version'],"
    "    'properties': {'status': {'type': 'string', 'enum': ['ok', 'degraded']},"
    "      'db': {'type': 'string', 'enum': ['ok', 'error']}, 'version': {'type': 'string'},"
    "      'writes': {'type': 'string', 'enum': ['ok', 'failing'],"
    " 'description': 'the write probe: a commit that has to grow the database'},"
    "      'reason': {'type': 'string', 'description': 'why not ok (503 only)'},"
    "      'diskFull': {'type': 'boolean'}, 'diskFreeBytes': {'type': 'integer'},"
    "      'lastWriteError': {'type': ['object', 'null'], 'properties': {"
    "        'message': {'type': 'string'}, 'at': {'type': 'string', 'format': 'date-time'}}},"
    "      'setupRequired': {'type': 'boolean',"
    " 'description': 'no account exists yet: the first needs the setup token'}}},"
    "  'JobState': {'type': 'string',"
    "    'enum': ['queued', 'running', 'succeeded', 'failed', 'canceled', 'scheduled',"
    " 'waiting']},"
    "  'Job': {'type': 'object', 'required': ['jobId', 'state', 'md', 'preset', 'withTts',"
    "      'upload', 'voiceAccent', 'voiceId', 'forceTts', 'notionDatabase', 'mode',"
    " 'priority', 'params',"
    "      'progress', 'attempts', 'maxAttempts', 'parentJobId', 'kind', 'batchId', 'batch',"
    "      'sweep', 'manifestPath', 'notionUrl',"
    "      'pageUrl', 'error', 'waitingFor', 'runAt', 'scheduleId', 'dependsOn', 'runWhen',"
    "      'needs', 'resources', 'ownerId', 'createdAt', 'updatedAt', 'startedAt',"
    "      'finishedAt'],"
    "    'properties': {'jobId': {'type': 'string'},"
    " 'state': {'$ref': '#/components/schemas/JobState'},"
    "      'md': {'type': ['string', 'null']}, 'preset': {'type': ['string', 'null']},"
    "      'withTts': {'type': 'boolean'}, 'upload': {'type': ['string', 'null']},"
    "      'voiceAccent': {'type': ['string', 'null']}, 'forceTts': {'type': 'boolean'},"
    "      'voiceId': {'type': ['string', 'null'],"
    " 'description': 'rerun_audio: one voice for every speaker'},"
    "      'notionDatabase': {'type': ['string', 'null']}, 'mode': {'type': ['string', 'null']},"
    "      'priority': {'type': 'integer'},"
    "      'params': {'type': 'object',"
    " 'description': 'the resolved typed values (defaults filled, random seeds drawn)',"
    "        'additionalProperties': {'$ref': '#/components/schemas/ParamValue'}},"
    "      'progress': {'type': 'number', 'minimum': 0, 'maximum': 1},"
    "      'attempts': {'type': 'integer'}, 'maxAttempts': {'type': 'integer'},"
    "      'parentJobId': {'type': ['string', 'null']},"
    "      'kind': {'type': 'string', 'enum': ['job', 'batch']},"
    "      'batchId': {'type': ['string', 'null'], 'description': 'a child: its batch parent'},"
    "      'batch': {'oneOf': [{'$ref': '#/components/schemas/BatchCounts'}, {'type': 'null'}]},"
    "      'sweep': {'type': ['object', 'null'],"
    " 'description': 'a batch parent: the sweep it was submitted with'},"
    "      'manifestPath': {'type': ['string', 'null']}, 'notionUrl': {'type': ['string', 'null']},"
    "      'pageUrl': {'type': ['string', 'null']}, 'error': {'type': ['string', 'null']},"
    "      'waitingFor': {'type': ['string', 'null'],"
    " 'description': 'why a job that has not started cannot start yet'},"
    "      'runAt': {'type': ['string', 'null'], 'format': 'date-time',"
    " 'description': 'a delayed job: when it becomes queued'},"
    "      'scheduleId': {'type': ['string', 'null'],"
    " 'description': 'the schedule that created the job'},"
    "      'dependsOn': {'type': 'array', 'items': {'type': 'string'},"
    " 'description': 'ids of the jobs it depends on'},"
    "      'runWhen': {'type': ['string', 'null'],"
    " 'enum': ['success', 'failure', 'always', null]},"
    "      'needs': {'type': ['object', 'null'], 'description': 'units it needs per resource"
    " pool', 'additionalProperties': {'type': 'integer'}},"
    "      'resources': {'type': ['object', 'null'], 'description': 'while running: the unit"
    " numbers it holds of each counted pool, the amount of each quantity pool'},"
    "      'ownerId': {'type': ['string', 'null']},"
    "      'createdAt': {'type': 'string', 'format': 'date-time'},"
    "      'updatedAt': {'type': 'string', 'format': 'date-time'},"
    "      'startedAt': {'type': ['string', 'null'], 'format': 'date-time'},"
    "      'finishedAt': {'type': ['string', 'null'], 'format': 'date-time'}}},"
    "  'BatchCounts': {'type': 'object',"
    "    'required': ['total', 'queued', 'running', 'succeeded', 'failed', 'canceled'],"
    "    'description': 'a batch parent: its children by state (docs/batches.md)',"
    "    'properties': {'total': {'type': 'integer'}, 'queued': {'type': 'integer'},"
    "      'running': {'type': 'integer'}, 'succeeded': {'type': 'integer'},"
    "      'failed': {'type': 'integer'}, 'canceled': {'type': 'integer'}}},"
    "  'JobList': {'type': 'object', 'required': ['items', 'nextCursor'],"
    "    'properties': {'items': {'type': 'array', 'items': {'$ref': '#/components/schemas/Job'}},"
    "      'nextCursor': {'type': ['string', 'null'],"
    "        'description': 'pass as ?cursor= for the next page; null on the last'}}},"
    "  'SubmitJob': {'type': 'object', 'required': ['preset'], 'additionalProperties': false,"
    "    'properties': {'preset': {'type': 'string'},"
    "      'md': {'type': 'string',"
    " 'description': 'an upload id (upl_N) or a path inside inputRoot'},"
    "      'withTts': {'type': 'boolean'}, 'forceTts': {'type': 'boolean'},"
    "      'upload': {'type': 'string', 'enum': ['auto', 'none', 's3']},"
    "      'voiceAccent': {'type': 'string'}, 'notionDatabase': {'type': 'string'},"
    "      'runAt': {'type': 'string', 'format': 'date-time',"
    " 'description': 'start then (ISO-8601 with an offset); at most 366 days ahead'},"
    "      'delaySec': {'type': 'integer', 'minimum': 0, 'maximum': 31622400,"
    " 'description': 'instead of runAt: start this many seconds from now'},"
    "      'dependsOn': {'type': 'array', 'minItems': 1, 'maxItems': 64,"
    " 'items': {'type': 'string'}, 'description': 'wait for these jobs to end'},"
    "      'runWhen': {'type': 'string', 'enum': ['success', 'failure', 'always'],"
    " 'description': 'with dependsOn; default success'},"
    "      'mode': {'type': 'string', 'enum': ['auto', 'dialogue', 'monologue']},"
    "      'priority': {'type': 'integer', 'minimum': -1000, 'maximum': 1000},"
    "      'params': {'type': 'object', 'description': 'typed values by param name (strings"
    " that parse are accepted for int, float, bool and seed); see docs/parameters.md',"
    "        'additionalProperties': {'$ref': '#/components/schemas/ParamValue'}},"
    "      'sweep': {'type': 'object', 'description': 'fan out into a batch (docs/batches.md):"
    " NAME: [values] | {count} | {start, count} (seed), md: [ids or paths] |"
    " {dir, glob, recursive}'},"
    "      'needs': {'type': 'object', 'description': 'resource units this job needs, when"
    " its preset allows (allowJobNeeds); docs/scheduling.md',"
    "        'additionalProperties': {'type': 'integer', 'minimum': 0}}}},"
    "  'ParamValue': {'type': ['string', 'number', 'boolean'],"
    " 'description': 'a seed may be the text random at submit; it is stored as the number"
    " drawn'},"
    "  'ParamChoice': {'type': 'object', 'required': ['value', 'label'],"
    "    'properties': {'value': {'type': 'string'}, 'label': {'type': 'string'}}},"
    "  'ParamSchema': {'type': 'object', 'required': ['name', 'type', 'label', 'required',"
    " 'declared'],"
    "    'properties': {'name': {'type': 'string'},"
    "      'type': {'type': 'string',"
    " 'enum': ['string', 'text', 'int', 'float', 'bool', 'enum', 'seed', 'file']},"
    "      'label': {'type': 'string'}, 'help': {'type': 'string'},"
    "      'default': {'$ref': '#/components/schemas/ParamValue'},"
    "      'required': {'type': 'boolean'},"
    "      'declared': {'type': 'boolean',"
    " 'description': 'false: only named in the preset argv (a required string)'},"
    "      'min': {'type': 'number'}, 'max': {'type': 'number'}, 'step': {'type': 'number'},"
    "      'maxLength': {'type': 'integer'},"
    "      'pattern': {'type': 'string', 'description': 'POSIX extended regex, whole value'},"
    "      'choices': {'type': 'array', 'items': {'$ref': '#/components/schemas/ParamChoice'}},"
    "      'optionsSource': {'type': 'string'}, 'allowDash': {'type': 'boolean'}}},"
    "  'JobCreated': {'type': 'object', 'required': ['jobId'],"
    "    'properties': {'jobId': {'type': 'string'}}},"
    "  'JobAction': {'type': 'object', 'required': ['type'],"
    "    'properties': {'type': {'type': 'string',"
    "        'enum': ['cancel', 'retry', 'edit_metadata', 'rerun_audio', 'move-to-front']},"
    "      'payload': {'type': 'object'}}},"
    "  'RerunAudio': {'type': 'object', 'additionalProperties': false,"
    "    'properties': {'voiceId': {'type': 'string'}, 'voiceAccent': {'type': 'string'},"
    "      'forceTts': {'type': 'boolean'}}},"
    "  'ActionResult': {'type': 'object',"
    "    'required': ['success', 'message', 'jobId', 'actionType', 'timestamp'],"
    "    'properties': {'success': {'type': 'boolean'}, 'message': {'type': 'string'},"
    "      'jobId': {'type': 'string'}, 'actionType': {'type': 'string'},"
    "      'timestamp': {'type': 'string', 'format': 'date-time'}}},"
    "  'JobOptions': {'type': 'object', 'required': ['presets', 'voices', 'voiceAccents',"
    "      'notionDatabases', 'uploadOptions', 'modes', 'supportedActions', 'limits'],"
    "    'properties': {'presets': {'type': 'array', 'items': {'type': 'object',"
    "        'properties': {'id': {'type': 'string'}, 'label': {'type': 'string'},"
    "          'workflow': {'type': 'string'}, 'requiresInput': {'type': 'boolean'},"
    "          'maxAttempts': {'type': 'integer'},"
    "          'params': {'type': 'array',"
    " 'items': {'$ref': '#/components/schemas/ParamSchema'}}}}},"
    "      'voices': {'type': 'array', 'items': {'type': 'object'}},"
    "      'voiceAccents': {'type': 'array', 'items': {'type': 'string'}},"
    "      'notionDatabases': {'type': 'array', 'items': {'type': 'object'}},"
    "      'uploadOptions': {'type': 'array', 'items': {'type': 'string'}},"
    "      'modes': {'type': 'array', 'items': {'type': 'string'}},"
    "      'supportedActions': {'type': 'array', 'items': {'type': 'object',"
    "        'properties': {'type': {'type': 'string'}, 'label': {'type': 'string'},"
    "          'description': {'type': 'string'},"
    "          'requiresFields': {'type': 'array', 'items': {'type': 'string'}},"
    "          'allowedStates': {'type': 'array', 'items': {'type': 'string',"
    "            'enum': ['queued', 'running', 'succeeded', 'failed', 'canceled']}},"
    "          'implemented': {'type': 'boolean'}}}},"
    "      'limits': {'type': 'object', 'properties': {"
    "        'maxBatchSize': {'type': 'integer'}}}}},"
    "  'Artifact': {'type': 'object', 'required': ['name', 'size', 'contentType', 'sha256', 'url'],"
    "    'properties': {'name': {'type': 'string'}, 'size': {'type': 'integer'},"
    "      'contentType': {'type': 'string'}, 'sha256': {'type': 'string'},"
    "      'url': {'type': 'string'}}},"
    "  'ArtifactList': {'type': 'object', 'required': ['items'], 'properties': {"
    "    'items': {'type': 'array', 'items': {'$ref': '#/components/schemas/Artifact'}}}},"
    "  'GalleryArtifact': {'type': 'object',"
    "    'required': ['name', 'contentType', 'size', 'url', 'picked'],"
    "    'properties': {'name': {'type': 'string'}, 'contentType': {'type': 'string'},"
    "      'size': {'type': 'integer'}, 'url': {'type': 'string'},"
    "      'picked': {'type': 'boolean'}}},"
    "  'GalleryItem': {'type': 'object',"
    "    'required': ['id', 'state', 'params', 'md', 'error', 'artifacts'],"
    "    'properties': {'id': {'type': 'string'},"
    "      'state': {'$ref': '#/components/schemas/JobState'},"
    "      'params': {'type': 'object'}, 'md': {'type': ['string', 'null']},"
    "      'error': {'type': ['string', 'null']},"
    "      'artifacts': {'type': 'array',"
    "        'items': {'$ref': '#/components/schemas/GalleryArtifact'}},"
    "      'qa': {'type': 'object', 'description': 'translate jobs only: their segments,"
    " how many QA flagged and how many are reviewed',"
    "        'properties': {'segments': {'type': 'integer'}, 'flagged': {'type': 'integer'},"
    "          'reviewed': {'type': 'integer'}}}}},"
    "  'Gallery': {'type': 'object', 'required': ['jobId', 'kind', 'swept', 'items'],"
    "    'properties': {'jobId': {'type': 'string'},"
    "      'kind': {'type': 'string', 'enum': ['job', 'batch']},"
    "      'swept': {'type': 'array', 'items': {'type': 'string'},"
    "        'description': 'the names the batch was swept over'},"
    "      'items': {'type': 'array', 'items': {'$ref': '#/components/schemas/GalleryItem'}}}},"
    "  'Pick': {'type': 'object', 'required': ['name', 'picked'],"
    "    'properties': {'name': {'type': 'string'}, 'picked': {'type': 'boolean'}}},"
    "  'User': {'type': 'object',"
    "    'required': ['id', 'email', 'name', 'role', 'disabled', 'createdAt', 'updatedAt'],"
    "    'properties': {'id': {'type': 'string'}, 'email': {'type': 'string'},"
    "      'name': {'type': ['string', 'null']}, 'role': {'type': 'string', 'enum': ['user',"
    " 'admin']},"
    "      'disabled': {'type': 'boolean'},"
    "      'createdAt': {'type': 'string', 'format': 'date-time'},"
    "      'updatedAt': {'type': 'string', 'format': 'date-time'}}},"
    "  'ComfyServer': {'type': 'object', 'required': ['id', 'slots', 'labels', 'enabled',"
    " 'source', 'status', 'lastSeenAt', 'lastError', 'running', 'queueRemaining', 'devices',"
    " 'comfyuiVersion', 'models', 'promptsDone', 'promptsFailed'],"
    "    'properties': {'id': {'type': 'string', 'examples': ['gpu1']},"
    "      'url': {'type': 'string', 'description': 'admins only'},"
    "      'slots': {'type': 'integer', 'minimum': 1, 'maximum': 64},"
    "      'labels': {'type': 'array', 'items': {'type': 'string'}},"
    "      'enabled': {'type': 'boolean'}, 'source': {'type': 'string', 'enum': ['config',"
    " 'api']},"
    "      'status': {'type': 'string', 'enum': ['unknown', 'up', 'down']},"
    "      'lastSeenAt': {'type': ['string', 'null'], 'format': 'date-time'},"
    "      'lastError': {'type': ['string', 'null']},"
    "      'running': {'type': 'integer'}, 'queueRemaining': {'type': ['integer', 'null']},"
    "      'devices': {'type': 'array', 'items': {'type': 'object', 'properties': {"
    "'name': {'type': 'string'}, 'type': {'type': 'string'},"
    " 'vramTotal': {'type': 'integer'}, 'vramFree': {'type': 'integer'}}}},"
    "      'comfyuiVersion': {'type': ['string', 'null']},"
    "      'models': {'type': 'integer', 'description': 'models in its catalogue'},"
    "      'promptsDone': {'type': 'integer'}, 'promptsFailed': {'type': 'integer'}}},"
    "  'ComfyServerList': {'type': 'object', 'required': ['servers'], 'properties': {"
    "    'servers': {'type': 'array', 'items': {'$ref': '#/components/schemas/ComfyServer'}}}},"
    "  'ComfyServerAdd': {'type': 'object', 'required': ['id', 'url'],"
    " 'additionalProperties': false,"
    "    'properties': {'id': {'type': 'string', 'pattern': '^[A-Za-z0-9._-]{1,64}$'},"
    "      'url': {'type': 'string', 'examples': ['http://127.0.0.1:8188']},"
    "      'slots': {'type': 'integer', 'minimum': 1, 'maximum': 64},"
    "      'labels': {'type': 'array', 'items': {'type': 'string'}, 'maxItems': 32},"
    "      'enabled': {'type': 'boolean'}}},"
    "  'ComfyServerChange': {'type': 'object', 'additionalProperties': false,"
    "    'properties': {'enabled': {'type': 'boolean'},"
    "      'slots': {'type': 'integer', 'minimum': 1, 'maximum': 64},"
    "      'labels': {'type': 'array', 'items': {'type': 'string'}, 'maxItems': 32}}},"
    "  'ComfyModels': {'type': 'object', 'description': 'by catalogue folder',"
    "    'additionalProperties': {'type': 'array', 'items': {'type': 'object',"
    " 'required': ['name', 'servers'], 'properties': {'name': {'type': 'string'},"
    " 'servers': {'type': 'array', 'items': {'type': 'string'}}}}}},"
    "  'UserList': {'type': 'object', 'required': ['items'], 'properties': {"
    "    'items': {'type': 'array', 'items': {'$ref': '#/components/schemas/User'}}}},"
    "  'Session': {'type': 'object', 'required': ['user', 'accessToken', 'refreshToken',"
    " 'expiresIn'],"
    "    'properties': {'user': {'$ref': '#/components/schemas/User'},"
    "      'accessToken': {'type': 'string'}, 'refreshToken': {'type': 'string'},"
    "      'expiresIn': {'type': 'integer', 'description': 'seconds the access token lives'}}},"
    "  'Register': {'type': 'object', 'required': ['email', 'password'],"
    "    'properties': {'email': {'type': 'string'}, 'password': {'type': 'string',"
    " 'minLength': 8},"
    "      'name': {'type': 'string'},"
    "      'setupToken': {'type': 'string', 'description': 'needed for the first account'}}},"
    "  'Login': {'type': 'object', 'required': ['email', 'password'],"
    "    'properties': {'email': {'type': 'string'}, 'password': {'type': 'string'}}},"
    "  'Refresh': {'type': 'object', 'properties': {'refreshToken': {'type': 'string',"
    "      'description': 'or the bb_refresh cookie'}}},"
    "  'ProfileChange': {'type': 'object', 'properties': {'name': {'type': 'string'},"
    "      'password': {'type': 'string', 'minLength': 8},"
    "      'currentPassword': {'type': 'string', 'description': 'required with password'}}},"
    "  'UserChange': {'type': 'object', 'properties': {"
    "      'role': {'type': 'string', 'enum': ['user', 'admin']},"
    " 'disabled': {'type': 'boolean'}}},"
    "  'Stats': {'type': 'object', 'required': ['jobsByState', 'jobsPerHour', 'durationByPreset',"
    "      'queueDepth', 'workers', 'eventSubscribers', 'eventBusDrops', 'uptimeSec'],"
    "    'properties': {'jobsByState': {'type': 'object',"
    "        'additionalProperties': {'type': 'integer'}},"
    "      'jobsPerHour': {'type': 'array', 'items': {'type': 'object', 'properties': {"
    "        'hour': {'type': 'string', 'format': 'date-time'}, 'count': {'type': 'integer'}}}},"
    "      'durationByPreset': {'type': 'array', 'items': {'type': 'object', 'properties': {"
    "        'preset': {'type': 'string'}, 'count': {'type': 'integer'},"
    "        'p50Ms': {'type': 'number'}, 'p95Ms': {'type': 'number'}}}},"
    "      'queueDepth': {'type': 'integer'},"
    "      'workers': {'type': 'object', 'properties': {'busy': {'type': 'integer'},"
    "        'idle': {'type': 'integer'}, 'total': {'type': 'integer'}}},"
    "      'eventSubscribers': {'type': 'integer'}, 'eventBusDrops': {'type': 'integer'},"
    "      'uptimeSec': {'type': 'integer'}, 'databaseBytes': {'type': 'integer'},"
    "      'artifactsBytes': {'type': 'integer'}, 'users': {'type': 'integer'},"
    "      'resources': {'$ref': '#/components/schemas/PoolUsage'}}},"
    "  'Upload': {'type': 'object', 'required': ['fileId', 'filename', 'size', 'sha256',"
    " 'contentType'],"
    "    'properties': {'fileId': {'type': 'string'}, 'filename': {'type': 'string'},"
    "      'size': {'type': 'integer'}, 'sha256': {'type': 'string'},"
    "      'contentType': {'type': 'string'}}},"
    "  'FileInfo': {'allOf': [{'$ref': '#/components/schemas/Upload'}, {'type': 'object',"
    "    'properties': {'storage': {'type': 'string'},"
    "      'createdAt': {'type': 'string', 'format': 'date-time'}, 'url': {'type': 'string'}}}]},"
    "  'FileList': {'type': 'object', 'required': ['items', 'usedBytes', 'quotaBytes'],"
    "    'properties': {'items': {'type': 'array',"
    " 'items': {'$ref': '#/components/schemas/FileInfo'}},"
    "      'usedBytes': {'type': 'integer'}, 'quotaBytes': {'type': 'integer'}}},"
    "  'Backup': {'type': 'object', 'required': ['path', 'bytes', 'integrity', 'createdAt'],"
    "    'properties': {'path': {'type': 'string'}, 'bytes': {'type': 'integer'},"
    "      'integrity': {'type': 'string', 'enum': ['ok']},"
    "      'createdAt': {'type': 'string', 'format': 'date-time'}}},"
    "  'Template': {'type': 'object', 'required': ['id', 'preset', 'name', 'params', 'sweep',"
    " 'shared', 'ownerId', 'createdAt', 'updatedAt'],"
    "    'properties': {'id': {'type': 'string', 'examples': ['tpl_3']},"
    "      'preset': {'type': 'string'}, 'name': {'type': 'string'},"
    "      'params': {'type': 'object', 'description': 'saved param values, as given'},"
    "      'sweep': {'type': ['object', 'null'], 'description': 'a saved sweep (as for POST"
    " /jobs)'},"
    "      'shared': {'type': 'boolean'}, 'ownerId': {'type': ['string', 'null']},"
    "      'createdAt': {'type': 'string', 'format': 'date-time'},"
    "      'updatedAt': {'type': 'string', 'format': 'date-time'}}},"
    "  'TemplateList': {'type': 'object', 'required': ['templates'],"
    "    'properties': {'templates': {'type': 'array',"
    " 'items': {'$ref': '#/components/schemas/Template'}}}},"
    "  'TemplateSave': {'type': 'object', 'required': ['name', 'params'],"
    " 'additionalProperties': false,"
    "    'properties': {'name': {'type': 'string', 'minLength': 1, 'maxLength': 100},"
    "      'params': {'type': 'object', 'description': 'values of params the preset declares"
    " or uses; strings, numbers or booleans'},"
    "      'sweep': {'type': ['object', 'null'], 'description': 'as for POST /jobs'},"
    "      'shared': {'type': 'boolean', 'description': 'admins only: everybody sees it'}}},"
    "  'Schedule': {'type': 'object', 'required': ['scheduleId', 'name', 'cron', 'timezone',"
    " 'job', 'enabled', 'overlap', 'catchUp', 'nextRunAt', 'lastRunAt', 'lastJobId',"
    " 'lastError', 'ownerId', 'createdAt', 'updatedAt'],"
    "    'properties': {'scheduleId': {'type': 'string'}, 'name': {'type': 'string'},"
    "      'cron': {'type': 'string', 'examples': ['30 2 * * *']},"
    "      'timezone': {'type': 'string', 'examples': ['Europe/Madrid']},"
    "      'job': {'type': 'object', 'description': 'the submit body of each run'},"
    "      'enabled': {'type': 'boolean'},"
    "      'overlap': {'type': 'string', 'enum': ['skip', 'queue']},"
    "      'catchUp': {'type': 'string', 'enum': ['none', 'one']},"
    "      'nextRunAt': {'type': ['string', 'null'], 'format': 'date-time'},"
    "      'lastRunAt': {'type': ['string', 'null'], 'format': 'date-time'},"
    "      'lastJobId': {'type': ['string', 'null']},"
    "      'lastError': {'type': ['string', 'null'],"
    " 'description': 'why the last due run created no job'},"
    "      'ownerId': {'type': ['string', 'null']},"
    "      'createdAt': {'type': 'string', 'format': 'date-time'},"
    "      'updatedAt': {'type': 'string', 'format': 'date-time'}}},"
    "  'ScheduleList': {'type': 'object', 'required': ['schedules'],"
    "    'properties': {'schedules': {'type': 'array',"
    " 'items': {'$ref': '#/components/schemas/Schedule'}}}},"
    "  'ScheduleSave': {'type': 'object', 'additionalProperties': false,"
    " 'description': 'POST needs name, cron and job; PATCH takes any of them',"
    "    'properties': {'name': {'type': 'string', 'minLength': 1, 'maxLength': 100},"
    "      'cron': {'type': 'string'}, 'timezone': {'type': 'string'},"
    "      'job': {'type': 'object', 'description': 'a submit body without sweep, runAt,"
    " delaySec, dependsOn and runWhen'},"
    "      'enabled': {'type': 'boolean'},"
    "      'overlap': {'type': 'string', 'enum': ['skip', 'queue']},"
    "      'catchUp': {'type': 'string', 'enum': ['none', 'one']}}},"
    "  'JobItems': {'type': 'object', 'required': ['items'],"
    "    'properties': {'items': {'type': 'array',"
    " 'items': {'$ref': '#/components/schemas/Job'}}}},"
    "  'InputEntry': {'type': 'object',"
    " 'required': ['name', 'type', 'size', 'modifiedAt', 'contentType'],"
    "    'properties': {'name': {'type': 'string'},"
    "      'type': {'type': 'string', 'enum': ['file', 'dir']},"
    "      'size': {'type': ['integer', 'null'], 'description': 'bytes; null for a directory'},"
    "      'modifiedAt': {'type': 'string', 'format': 'date-time'},"
    "      'contentType': {'type': ['string', 'null'], 'description': 'judged from the bytes"
    " like an upload; null for directories and files no upload would accept'}}},"
    "  'InputList': {'type': 'object', 'required': ['path', 'entries', 'truncated'],"
    "    'properties': {'path': {'type': 'string', 'description': 'the directory, normalised;"
    " empty for the root'},"
    "      'entries': {'type': 'array', 'items': {'$ref': '#/components/schemas/InputEntry'}},"
    "      'truncated': {'type': 'boolean', 'description': 'more than 1,000 entries'}}},"
    "  'Segment': {'type': 'object', 'required': ['n', 'source', 'target', 'origin', 'state',"
    " 'flags', 'version'],"
    "    'properties': {'n': {'type': 'integer', 'minimum': 1},"
    "      'source': {'type': 'string'}, 'target': {'type': 'string'},"
    "      'origin': {'type': 'string', 'enum': ['mt', 'tm', 'edited']},"
    "      'state': {'type': 'string', 'enum': ['translated', 'reviewed']},"
    "      'flags': {'type': 'array', 'items': {'type': 'string'}, 'description': 'QA checks"
    " that failed: empty, untranslated, number, placeholder, tag, url, length, glossary'},"
    "      'version': {'type': 'integer', 'description': 'grows with each edit; send it back"
    " to PATCH'}}},"
    "  'ComfyJobPrompts': {'type': 'object', 'required': ['prompts'], 'properties': {"
    "    'prompts': {'type': 'array', 'items': {'type': 'object', 'properties': {"
    "      'promptId': {'type': 'string'}, 'attempt': {'type': 'integer'},"
    "      'server': {'type': 'string'},"
    "      'state': {'enum': ['posting', 'queued', 'running', 'succeeded', 'failed',"
    " 'interrupted', 'lost']},"
    "      'error': {'type': ['string', 'null']},"
    "      'createdAt': {'type': 'integer'}, 'updatedAt': {'type': 'integer'},"
    "      'nodes': {'type': 'array', 'items': {'type': 'object', 'properties': {"
    "'id': {'type': 'string'}, 'class': {'type': 'string'},"
    " 'state': {'enum': ['running', 'done', 'cached', 'error']},"
    " 'startedAt': {'type': 'integer'}, 'endedAt': {'type': 'integer'}}}},"
    "      'current': {'type': ['object', 'null'], 'properties': {"
    "'node': {'type': 'string'}, 'class': {'type': 'string'},"
    " 'value': {'type': 'number'}, 'max': {'type': 'number'}}}}}}}},"
    "  'SegmentPage': {'type': 'object',"
    " 'required': ['items', 'nextCursor', 'total', 'reviewed', 'flagged'],"
    "    'properties': {'items': {'type': 'array', 'items': {'$ref':"
    " '#/components/schemas/Segment'}},"
    "      'nextCursor': {'type': ['string', 'null']},"
    "      'total': {'type': 'integer'}, 'reviewed': {'type': 'integer'},"
    "      'flagged': {'type': 'integer'}}},"
    "  'SegmentPatch': {'type': 'object', 'additionalProperties': false,"
    "    'properties': {'target': {'type': 'string', 'maxLength': 65536},"
    "      'state': {'type': 'string', 'enum': ['translated', 'reviewed']},"
    "      'version': {'type': 'integer', 'minimum': 1, 'description': 'the version read;"
    " a stale one answers 409 with current'}}},"
    "  'BulkRequest': {'type': 'object', 'required': ['action'], 'additionalProperties': false,"
    "    'properties': {'action': {'type': 'string', 'enum': ['cancel', 'retry']},"
    "      'dryRun': {'type': 'boolean', 'description': 'only count the matching jobs'},"
    "      'reason': {'type': 'string', 'maxLength': 200},"
    "      'filter': {'type': 'object', 'additionalProperties': false, 'properties': {"
    "        'state': {'$ref': '#/components/schemas/JobState'}, 'preset': {'type': 'string'},"
    "        'q': {'type': 'string'}, 'owner': {'type': 'string'},"
    "        'createdAfter': {'type': 'string', 'format': 'date-time'},"
    "        'createdBefore': {'type': 'string', 'format': 'date-time'},"
    "        'outOfAttempts': {'type': 'boolean'}}}}},"
    "  'BulkResult': {'type': 'object', 'required': ['action', 'dryRun', 'matched'],"
    "    'properties': {'action': {'type': 'string'}, 'dryRun': {'type': 'boolean'},"
    "      'matched': {'type': 'integer'}, 'done': {'type': 'integer'},"
    "      'skipped': {'type': 'integer', 'description': 'matched but no longer in a state"
    " the action takes'}}},"
    "  'QueuePause': {'type': 'object', 'additionalProperties': false,"
    "    'properties': {'preset': {'type': 'string', 'description': 'absent: every preset'}}},"
    "  'QueueStatus': {'type': 'object', 'required': ['paused', 'pausedAt', 'presets',"
    " 'resources'],"
    "    'properties': {'paused': {'type': 'boolean', 'description': 'the global pause'},"
    "      'pausedAt': {'type': ['string', 'null'], 'format': 'date-time'},"
    "      'presets': {'type': 'array', 'items': {'type': 'object', 'properties': {"
    "        'preset': {'type': 'string'}, 'paused': {'type': 'boolean'},"
    "        'pausedAt': {'type': ['string', 'null'], 'format': 'date-time'},"
    "        'rateLimit': {'type': ['object', 'null']}}}},"
    "      'resources': {'$ref': '#/components/schemas/PoolUsage'}}},"
    "  'PoolUsage': {'type': 'object', 'description': 'per resource pool: total, used, free,"
    " counted', 'additionalProperties': {'type': 'object', 'properties': {"
    "      'total': {'type': 'integer'}, 'used': {'type': 'integer'},"
    "      'free': {'type': 'integer'}, 'counted': {'type': 'boolean'}}}},"
    "  'ApiKey': {'type': 'object', 'required': ['id', 'name', 'scope', 'prefix', 'createdAt',"
    " 'expiresAt', 'lastUsedAt', 'revokedAt'],"
    "    'properties': {'id': {'type': 'string', 'examples': ['key_4']},"
    "      'name': {'type': 'string'}, 'scope': {'type': 'string',"
    " 'enum': ['read', 'submit', 'admin']},"
    "      'prefix': {'type': 'string', 'description': 'the first 12 characters of the key'},"
    "      'createdAt': {'type': 'string', 'format': 'date-time'},"
    "      'expiresAt': {'type': ['string', 'null'], 'format': 'date-time'},"
    "      'lastUsedAt': {'type': ['string', 'null'], 'format': 'date-time',"
    " 'description': 'updated at most once a minute'},"
    "      'revokedAt': {'type': ['string', 'null'], 'format': 'date-time'}}},"
    "  'ApiKeyList': {'type': 'object', 'required': ['items'],"
    "    'properties': {'items': {'type': 'array',"
    " 'items': {'$ref': '#/components/schemas/ApiKey'}}}},"
    "  'ApiKeyCreate': {'type': 'object', 'required': ['name', 'scope'],"
    " 'additionalProperties': false,"
    "    'properties': {'name': {'type': 'string', 'minLength': 1, 'maxLength': 100},"
    "      'scope': {'type': 'string', 'enum': ['read', 'submit', 'admin']},"
    "      'expiresAt': {'type': 'string', 'format': 'date-time'}}},"
    "  'ApiKeyCreated': {'allOf': [{'$ref': '#/components/schemas/ApiKey'}, {'type': 'object',"
    " 'required': ['key'], 'properties': {'key': {'type': 'string',"
    " 'description': 'bbk_...: shown in this answer only'}}}]},"
    "  'Delivery': {'type': 'object', 'required': ['id', 'event', 'url', 'state', 'attempts',"
    " 'lastStatus', 'lastError', 'createdAt', 'updatedAt'],"
    "    'properties': {'id': {'type': 'string', 'examples': ['dlv_9']},"
    "      'event': {'type': 'string', 'enum': ['job.created', 'job.running', 'job.succeeded',"
    " 'job.failed', 'job.canceled']}, 'url': {'type': 'string'},"
    "      'state': {'type': 'string', 'enum': ['pending', 'delivered', 'failed', 'dropped']},"
    "      'attempts': {'type': 'integer'}, 'lastStatus': {'type': ['integer', 'null']},"
    "      'lastError': {'type': ['string', 'null']},"
    "      'createdAt': {'type': 'string', 'format': 'date-time'},"
    "      'updatedAt': {'type': 'string', 'format': 'date-time'}}},"
    "  'DeliveryList': {'type': 'object', 'required': ['items'],"
    "    'properties': {'items': {'type': 'array',"
    " 'items': {'$ref': '#/components/schemas/Delivery'}}}},"
    "  'ConfigReload': {'type': 'object', 'required': ['reloaded', 'path', 'needsRestart',"
    " 'presetsAdded', 'presetsRemoved', 'jobsCanceled'],"
    "    'properties': {'reloaded': {'type': 'boolean'}, 'path': {'type': ['string', 'null']},"
    "      'needsRestart': {'type': 'array', 'items': {'type': 'string'},"
    " 'description': 'settings the file changed that only a restart applies'},"
    "      'presetsAdded': {'type': 'array', 'items': {'type': 'string'}},"
    "      'presetsRemoved': {'type': 'array', 'items': {'type': 'string'}},"
    "      'jobsCanceled': {'type': 'integer', 'description': 'queued jobs of removed presets'}}},"
    "  'Gc': {'type': 'object', 'additionalProperties': false,"
    "    'properties': {'dryRun': {'type': 'boolean', 'default': false}}},"
    "  'GcResult': {'type': 'object', 'required': ['dryRun', 'jobs', 'events', 'logBytes',"
    " 'artifactBytes', 'bytesFreed', 'objectsFailed'],"
    "    'properties': {'dryRun': {'type': 'boolean'}, 'jobs': {'type': 'integer'},"
    "      'events': {'type': 'integer'}, 'logBytes': {'type': 'integer'},"
    "      'artifactBytes': {'type': 'integer'}, 'bytesFreed': {'type': 'integer'},"
    "      'objectsFailed': {'type': 'integer'}}},"
    "  'OpenApi': {'type': 'object', 'description': 'this document'}"
    " }}";

/* Query parameters the route table may name, and their schemas ('-quoted). */
static const struct {
    const char *name, *schema, *description;
} QUERY_PARAMS[] = {
    {"state", "{'$ref': '#/components/schemas/JobState'}", "only jobs in this state"},
    {"preset", "{'type': 'string'}", "only jobs of this preset"},
    {"q", "{'type': 'string'}", "case-insensitive substring of the input name (md)"},
    {"limit", "{'type': 'integer', 'minimum': 1, 'maximum': 200, 'default': 50}", "page size"},
    {"cursor", "{'type': 'string'}", "nextCursor of the previous page"},
    {"jobId", "{'type': 'string'}", "only this job's events"},
    {"logs", "{'type': 'string', 'enum': ['0', '1']}", "1: include job_log events"},
    {"lastEventId", "{'type': 'string'}", "resume after this event id (like Last-Event-ID)"},
    {"follow", "{'type': 'string', 'enum': ['0', '1']}", "1: stream new lines until the job ends"},
    {"filename", "{'type': 'string'}", "the file name of a raw (non-multipart) upload"},
    {"path", "{'type': 'string', 'default': ''}",
     "a directory relative to the input root (relative, no .. component)"},
    {"picked", "{'type': 'string', 'enum': ['0', '1', 'false', 'true']}",
     "1: only picked artifacts (and the jobs holding one)"},
    {"flagged", "{'type': 'string', 'enum': ['0', '1', 'false', 'true']}",
     "1: only segments with QA flags"},
    {"state.segment", "{'type': 'string', 'enum': ['translated', 'reviewed']}",
     "only segments in this review state"},
    {"limit.segment", "{'type': 'integer', 'minimum': 1, 'maximum': 200, 'default': 50}",
     "page size"},
    {"createdAfter", "{'type': 'string', 'format': 'date-time'}",
     "only jobs created at or after this time (ISO-8601, a date, or ms)"},
    {"createdBefore", "{'type': 'string', 'format': 'date-time'}",
     "only jobs created before this time"},
    {"owner", "{'type': 'string'}", "only this user's jobs (a user id; others' need admin)"},
    {"outOfAttempts", "{'type': 'string', 'enum': ['0', '1', 'false', 'true']}",
     "1: failed jobs with no attempts left (the dead letters)"},
};

/* Parses '-quoted JSON (see COMPONENTS).  Caller frees; NULL on OOM. */
static cJSON *parse_sq(const char *text)
{
    char *s = strdup(text);
    if (!s)
        return NULL;
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    cJSON *doc = cJSON_Parse(s);
    free(s);
    return doc;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content (a Range request)";
    case 304: return "Not Modified (If-None-Match matched the ETag)";
    case 400: return "Malformed or invalid request (details.fields names each bad field)";
    case 401: return "No or invalid credentials";
    case 403: return "Not allowed";
    case 404: return "Not found (also another user's object)";
    case 408: return "Request timeout (a slow client; the connection closes)";
    case 409: return "Conflict";
    case 413: return "Too large";
    case 415: return "Unsupported media type";
    case 416: return "Range not satisfiable";
    case 422: return "Not allowed in the current state";
    case 429: return "Rate limited (Retry-After)";
    case 500: return "Internal or storage error";
    case 501: return "Not implemented";
    case 503: return "Unavailable (Retry-After)";
    }
    return "Response";
}

/* {"$ref": "#/components/schemas/NAME"}.  Caller owns the result (it is
 * usually handed to a parent object). */
static cJSON *ref(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "#/components/schemas/%s", name);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "$ref", path);
    return o;
}

/* {"type": "string", "format": format?}.  Caller owns the result. */
static cJSON *string_schema(const char *format)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "string");
    if (format)
        cJSON_AddStringToObject(o, "format", format);
    return o;
}

/* {"<media type>": {"schema": schema}} (takes schema).  Caller owns the
 * result. */
static cJSON *content(const char *media, cJSON *schema)
{
    cJSON *c = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(c, media);
    cJSON_AddItemToObject(m, "schema", schema);
    return c;
}

/* The content of a success body named by the route table, or NULL.
 * Caller owns the result. */
static cJSON *body_content(const char *kind)
{
    if (!kind)
        return NULL;
    if (strcmp(kind, "text") == 0)
        return content("text/plain", string_schema(NULL));
    if (strcmp(kind, "sse") == 0)
        return content("text/event-stream", string_schema(NULL));
    if (strcmp(kind, "binary") == 0)
        return content("application/octet-stream", string_schema("binary"));
    if (strcmp(kind, "zip") == 0)
        return content("application/zip", string_schema("binary"));
    if (strcmp(kind, "metrics") == 0)
        return content("text/plain; version=0.0.4", string_schema(NULL));
    return content("application/json", ref(kind));
}

/* Adds responses[status] once (takes body; a repeated status frees it). */
static void add_response(cJSON *responses, int status, cJSON *body)
{
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    if (cJSON_GetObjectItemCaseSensitive(responses, code)) {
        cJSON_Delete(body);
        return;
    }
    cJSON *r = cJSON_AddObjectToObject(responses, code);
    cJSON_AddStringToObject(r, "description", reason(status));
    if (body)
        cJSON_AddItemToObject(r, "content", body);
}

/* The requestBody object for a route's `request`.  Caller owns it. */
static cJSON *request_body(const char *kind)
{
    cJSON *rb = cJSON_CreateObject();
    cJSON_AddBoolToObject(rb, "required", 1);
    if (strcmp(kind, "upload") == 0) {
        cJSON *form = parse_sq("{'type': 'object', 'required': ['file'], 'properties': "
                               "{'file': {'type': 'string', 'format': 'binary'}}}");
        cJSON *c = content("multipart/form-data", form);
        cJSON *raw = cJSON_AddObjectToObject(c, "application/octet-stream");
        cJSON_AddItemToObject(raw, "schema", string_schema("binary"));
        cJSON_AddItemToObject(rb, "content", c);
        cJSON_AddStringToObject(rb, "description",
                                "multipart/form-data with a part named file, or the raw bytes "
                                "(any Content-Type) with ?filename=");
    } else {
        cJSON_AddItemToObject(rb, "content", content("application/json", ref(kind)));
    }
    return rb;
}

static void add_query_params(cJSON *params, const char *list)
{
    const char *p = list;
    while (p && *p) {
        size_t n = strcspn(p, ",");
        char name[48];
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
        /* "state.segment": the parameter "state" described by the entry
         * of that key (one name, another meaning on another route) */
        char shown[48];
        snprintf(shown, sizeof shown, "%.*s", (int)strcspn(name, "."), name);
        cJSON *q = cJSON_CreateObject();
        cJSON_AddStringToObject(q, "name", shown);
        cJSON_AddStringToObject(q, "in", "query");
        cJSON_AddBoolToObject(q, "required", 0);
        cJSON *schema = NULL;
        for (size_t i = 0; i < sizeof QUERY_PARAMS / sizeof QUERY_PARAMS[0]; i++) {
            if (strcmp(QUERY_PARAMS[i].name, name) == 0) {
                cJSON_AddStringToObject(q, "description", QUERY_PARAMS[i].description);
                schema = parse_sq(QUERY_PARAMS[i].schema);
            }
        }
        cJSON_AddItemToObject(q, "schema", schema ? schema : string_schema(NULL));
        cJSON_AddItemToArray(params, q);
        p += n;
        if (*p == ',')
            p++;
    }
}

/* "/jobs/:id/artifacts/:name" → "/jobs/{id}/artifacts/{name}"; the
 * parameter objects go to params. */
static void convert_path(const char *pattern, char *out, size_t cap, cJSON *params)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 2 < cap;) {
        if (*p != ':') {
            out[o++] = *p++;
            continue;
        }
        size_t n = strcspn(p + 1, "/");
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p + 1);
        int w = snprintf(out + o, cap - o, "{%s}", name);
        o = w > 0 && (size_t)w < cap - o ? o + (size_t)w : cap - 1;
        p += n + 1;
        cJSON *q = cJSON_CreateObject();
        cJSON_AddStringToObject(q, "name", name);
        cJSON_AddStringToObject(q, "in", "path");
        cJSON_AddBoolToObject(q, "required", 1);
        cJSON_AddItemToObject(q, "schema", string_schema(NULL));
        cJSON_AddItemToArray(params, q);
    }
    out[o] = '\0';
}

static void lower(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    out[i] = '\0';
}

/* The security requirement of a route.  Caller owns it. */
static cJSON *security(const struct http_route *rt)
{
    if (rt->auth && strcmp(rt->auth, "metrics") == 0)
        return parse_sq("[{'bearerAuth': []}, {'cookieAuth': []}, {'metricsToken': []}]");
    if (rt->perm == PERM_PUBLIC)
        return cJSON_CreateArray();
    return parse_sq("[{'bearerAuth': []}, {'cookieAuth': []}]");
}

/* The operation object of one route (path_params is copied).  Caller owns
 * it. */
static cJSON *operation(const struct http_route *rt, cJSON *path_params)
{
    cJSON *op = cJSON_CreateObject();
    char tag[64], id[160];
    const char *seg = rt->pattern + 1;
    snprintf(tag, sizeof tag, "%.*s", (int)strcspn(seg, "/"), seg);
    cJSON *tags = cJSON_AddArrayToObject(op, "tags");
    cJSON_AddItemToArray(tags, cJSON_CreateString(rt->tag ? rt->tag : tag));
    cJSON_AddStringToObject(op, "summary", rt->summary ? rt->summary : rt->pattern);
    /* operationId: method + path, e.g. get_jobs_id_artifacts_name */
    lower(rt->method, id, sizeof id);
    size_t n = strlen(id);
    for (const char *p = rt->pattern; *p && n + 1 < sizeof id; p++) {
        char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            id[n++] = c;
        else if (c == '/' || c == '-' || c == '.')
            id[n++] = '_';
    }
    id[n] = '\0';
    cJSON_AddStringToObject(op, "operationId", id);
    cJSON *params = cJSON_Duplicate(path_params, 1);
    add_query_params(params, rt->query);
    if (cJSON_GetArraySize(params) > 0)
        cJSON_AddItemToObject(op, "parameters", params);
    else
        cJSON_Delete(params);
    if (rt->request)
        cJSON_AddItemToObject(op, "requestBody", request_body(rt->request));
    cJSON *responses = cJSON_AddObjectToObject(op, "responses");
    int ok = rt->ok ? rt->ok : 200;
    add_response(responses, ok, body_content(rt->response));
    for (const char *p = rt->errors; p && *p;) {
        int st = (int)strtol(p, NULL, 10);
        if (st >= 400)
            add_response(responses, st, content("application/json", ref("Error")));
        else if (st >= 300)
            add_response(responses, st, NULL);
        else if (st >= 200)
            add_response(responses, st, body_content(rt->response));
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    bool metrics = rt->auth && strcmp(rt->auth, "metrics") == 0;
    if (rt->perm != PERM_PUBLIC || metrics)
        add_response(responses, 401, content("application/json", ref("Error")));
    if (rt->perm == PERM_ADMIN || metrics)
        add_response(responses, 403, content("application/json", ref("Error")));
    add_response(responses, 500, content("application/json", ref("Error")));
    cJSON_AddItemToObject(op, "security", security(rt));
    return op;
}

cJSON *http_openapi_doc(void)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *components = parse_sq(COMPONENTS);
    if (!doc || !components) {
        cJSON_Delete(doc);
        cJSON_Delete(components);
        return NULL;
    }
    cJSON_AddStringToObject(doc, "openapi", "3.1.0");
    cJSON *info = cJSON_AddObjectToObject(doc, "info");
    cJSON_AddStringToObject(info, "title", "batchbox");
    cJSON_AddStringToObject(info, "version", BB_VERSION);
    cJSON_AddStringToObject(info, "description",
                            "The batchbox HTTP API. Every path also answers without the /api/v1 "
                            "prefix. Errors are {error, message, details}.");
    cJSON *servers = cJSON_AddArrayToObject(doc, "servers");
    cJSON *srv = cJSON_CreateObject();
    cJSON_AddStringToObject(srv, "url", "/api/v1");
    cJSON_AddItemToArray(servers, srv);
    cJSON_AddItemToObject(doc, "security", parse_sq("[{'bearerAuth': []}, {'cookieAuth': []}]"));
    cJSON *paths = cJSON_AddObjectToObject(doc, "paths");
    for (size_t i = 0; i < http_nroutes; i++) {
        const struct http_route *rt = &http_routes[i];
        if (rt->fallback)
            continue;   /* the web UI, not part of the API */
        char path[256], method[16];
        cJSON *path_params = cJSON_CreateArray();
        convert_path(rt->pattern, path, sizeof path, path_params);
        lower(rt->method, method, sizeof method);
        cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, path);
        if (!item)
            item = cJSON_AddObjectToObject(paths, path);
        cJSON_AddItemToObject(item, method, operation(rt, path_params));
        cJSON_Delete(path_params);
    }
    cJSON_AddItemToObject(doc, "components", components);
    return doc;
}
