/* SPDX-License-Identifier: MIT */
/* Splits the command line into words and finds keys in it. */
#include "guest/cmdline.h"
#include "guest/lib.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

/* Returns the length of the word starting at cl[i], quotes included. */
static size_t word_len(const char *cl, size_t len, size_t i)
{
    bool quoted = false;
    size_t j = i;

    for (; j < len && (quoted || !is_space(cl[j])); j++)
        if (cl[j] == '"')
            quoted = !quoted;
    return j - i;
}

static bool find(const char *cl, size_t len, const char *key, bool bare,
                 const char **val, size_t *vlen)
{
    size_t klen = strlen(key);
    bool found = false;

    for (size_t i = 0; i < len;) {
        size_t n;

        if (is_space(cl[i])) {
            i++;
            continue;
        }
        n = word_len(cl, len, i);
        if (bare && n == klen && !memcmp(cl + i, key, klen)) {
            found = true;
        } else if (!bare && n > klen && !memcmp(cl + i, key, klen) &&
                   cl[i + klen] == '=') {
            *val = cl + i + klen + 1;
            *vlen = n - klen - 1;
            if (*vlen >= 2 && (*val)[0] == '"' && (*val)[*vlen - 1] == '"') {
                (*val)++;
                *vlen -= 2;
            }
            found = true;
        }
        i += n;
    }
    return found;
}

bool cmdline_has(const char *cl, size_t len, const char *word)
{
    return find(cl, len, word, true, NULL, NULL);
}

bool cmdline_get(const char *cl, size_t len, const char *key, const char **val,
                 size_t *vlen)
{
    return find(cl, len, key, false, val, vlen);
}

bool cmdline_next(const char *cl, size_t len, size_t *pos, const char *key,
                  const char **val, size_t *vlen)
{
    while (*pos < len) {
        size_t i = *pos, n = is_space(cl[i]) ? 1 : word_len(cl, len, i);

        *pos = i + n;
        if (n > 1 && find(cl + i, n, key, false, val, vlen))
            return true;
    }
    return false;
}
