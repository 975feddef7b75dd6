/* tls_entropy.c — the random seed of the release binary's TLS library.
 * mbedTLS 2.28 reads /dev/urandom unless it is built against glibc (its
 * getrandom(2) path is guarded by __GLIBC__), so under musl every HTTPS
 * request failed with "CTR_DRBG - The entropy source failed" wherever
 * /dev is empty (a chroot, a minimal container).  The release link
 * (-Wl,--wrap=mbedtls_platform_entropy_poll, docs/release.md) routes
 * mbedTLS's platform source here: getrandom(2), which needs no file.
 * Compiled only with BB_CURL_WRAP (the release build); stateless, so safe
 * from any thread. */
#ifdef BB_CURL_WRAP

#include <errno.h>
#include <stddef.h>
#include <sys/random.h>

/* MBEDTLS_ERR_ENTROPY_SOURCE_FAILED (mbedtls/entropy.h) */
#define ENTROPY_SOURCE_FAILED (-0x003C)

int __wrap_mbedtls_platform_entropy_poll(void *data, unsigned char *output, size_t len,
                                         size_t *olen);

/* mbedTLS's entropy-source contract: fill output[len], set *olen to the
 * bytes written, return 0 or ENTROPY_SOURCE_FAILED. */
int __wrap_mbedtls_platform_entropy_poll(void *data, unsigned char *output, size_t len,
                                         size_t *olen)
{
    size_t done = 0;
    *olen = 0;
    while (done < len) {
        ssize_t n = getrandom(output + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ENTROPY_SOURCE_FAILED;
        }
        done += (size_t)n;
    }
    *olen = done;
    return 0;
}

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int bb_tls_entropy_unused;
#endif
