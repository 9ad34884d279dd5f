/* The shim's own environment variables: LD_PRELOAD (its entry), the
 * config, the agent and the mode. Read at start and removed from the
 * program's environment, so that the program sees the environment it
 * would see without Enact (README "What the agent sees");
 * put back into the environment of every program it starts, also when the
 * caller passes an explicit or empty envp (`env -i`, subprocess env={}),
 * so that children stay governed. */
#ifndef ENACT_ENV_H
#define ENACT_ENV_H

#include <stdbool.h>
#include <stddef.h>

/* The shim's variables as the program was started with them: the agent
 * and the mode in one pass over the environment (a secure_getenv each
 * walked all of it). All NULL in a setuid or setgid process, which
 * ignores them (if the loader loads the shim at all there, e.g. from
 * /etc/ld.so.preload), and when ENACT_CONFIG is not set. */
struct env_start {
    const char *config; /* ENACT_CONFIG */
    const char *agent;  /* ENACT_AGENT: -a */
    const char *mode;   /* ENACT_MODE: enact run --observe */
};
void env_start_read(struct env_start *out);

/* From the constructor, once the agent is known: remembers the values the
 * children get, and scrubs them from environ. config_path may be
 * relative (to the current folder at start). */
void env_init(const char *config_path, const char *agent, const char *mode);

/* Entries a child's environment needs beyond envp's own (for sizing). */
#define ENV_EXTRA 6

/* Bytes of the LD_PRELOAD entry for a child of envp. */
size_t env_preload_size(char *const envp[]);

/* The environment for a child: envp (NULL: empty) without
 * any shim variable it has, then the shim's own. out holds at least
 * entries(envp) + ENV_EXTRA + 1 pointers, preload env_preload_size(envp)
 * bytes. Returns out, or envp itself when this process is not governed.
 * No allocation: vfork-safe. */
char *const *env_for_child(char *const envp[], char **out, char *preload, const char *extra);

size_t env_entries(char *const envp[]);

/* Declares the storage for a child's environment and fills it: name is
 * then the envp to pass. */
#define ENV_FOR_CHILD(name, envp) ENV_FOR_CHILD_WITH(name, envp, NULL)
/* The same with one more entry ("NAME=value", or NULL). */
#define ENV_FOR_CHILD_WITH(name, envp, extra)                                                  \
    char *name##_v_[env_entries(envp) + ENV_EXTRA + 1];                                        \
    char name##_p_[env_preload_size(envp)];                                                    \
    char *const *name = env_for_child((envp), name##_v_, name##_p_, (extra))

/* A call that system() or popen() has already decided runs its program
 * through /bin/sh, whose exec of it must not be decided again: the shell
 * gets an admission for exactly that argv (ENACT_ADMITTED), used by its
 * first exec of it. */
#define ENV_ADMISSION_MAX 40
void env_admission_entry(char *const argv[], char out[ENV_ADMISSION_MAX]);
/* True, once, when argv is what this process was admitted to run. */
bool env_take_admission(char *const argv[]);

#endif
