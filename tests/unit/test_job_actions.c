/* test_job_actions.c — the job action table of src/service/jobs.c: every
 * action the API names is a row, the states each is allowed in are the
 * ones docs/api.md gives, and every action that changes a job's state
 * does so only along transitions the domain state machine
 * (job_transition_ok) allows from each of its allowed states. */
#define UNIT_MAIN
#include "unit.h"

#include <stdbool.h>

#include "domain/job.h"
#include "service/jobs.h"

#define NSTATES 5

static const enum job_state all_states[NSTATES] = {
    JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELED,
};

TEST(table_lists_the_actions_in_order)
{
    static const char *const want[] = {"cancel", "retry", "edit_metadata", "rerun_audio",
                                       "rebuild"};
    size_t n = 0;
    while (svc_job_action_name(n))
        n++;
    CHECK_EQ_INT(n, 5);
    for (size_t i = 0; i < n; i++)
        CHECK_STR_EQ(svc_job_action_name(i), want[i]);
    CHECK(svc_job_action_name(99) == NULL);
}

TEST(allowed_states_match_the_documented_rules)
{
    static const struct {
        const char *type;
        bool allowed[NSTATES];     /* queued running succeeded failed canceled */
    } rules[] = {
        {"cancel", {true, true, false, false, false}},
        {"retry", {false, false, false, true, true}},
        {"edit_metadata", {true, false, true, true, true}},
        {"rerun_audio", {false, false, true, false, false}},
        {"rebuild", {false, false, true, false, false}},
    };
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++)
        for (int s = 0; s < NSTATES; s++)
            if (svc_job_action_allowed(rules[r].type, all_states[s]) != rules[r].allowed[s])
                FAIL("%s in %s: want %s", rules[r].type, job_state_name(all_states[s]),
                     rules[r].allowed[s] ? "allowed" : "refused");
}

TEST(unknown_action_is_allowed_nowhere)
{
    for (int s = 0; s < NSTATES; s++)
        CHECK(!svc_job_action_allowed("explode", all_states[s]));
    CHECK_EQ_INT(svc_job_action_target("explode"), -2);
}

TEST(state_changes_follow_the_state_machine)
{
    CHECK_EQ_INT(svc_job_action_target("cancel"), JOB_CANCELED);
    CHECK_EQ_INT(svc_job_action_target("retry"), JOB_QUEUED);
    CHECK_EQ_INT(svc_job_action_target("edit_metadata"), -1);
    CHECK_EQ_INT(svc_job_action_target("rerun_audio"), -1);
    for (size_t i = 0; svc_job_action_name(i); i++) {
        const char *type = svc_job_action_name(i);
        int target = svc_job_action_target(type);
        if (target < 0)
            continue;
        for (int s = 0; s < NSTATES; s++)
            if (svc_job_action_allowed(type, all_states[s]) &&
                !job_transition_ok(all_states[s], (enum job_state)target))
                FAIL("%s is allowed in %s but %s -> %s is no transition", type,
                     job_state_name(all_states[s]), job_state_name(all_states[s]),
                     job_state_name((enum job_state)target));
    }
}
