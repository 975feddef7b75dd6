/* hello.c — the program the release smoke test (smoke.py) copies into its
 * empty root and runs as a `command` job: compiled static with musl-gcc,
 * it prints a line and writes OUTDIR/hello.txt, so the job proves that
 * batchbox can spawn a program and collect its output and artifact there. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    char path[4096];
    if (argc != 2 || strlen(argv[1]) > sizeof path - 16) {
        fprintf(stderr, "usage: hello OUTDIR\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/hello.txt", argv[1]);
    FILE *f = fopen(path, "w");
    if (!f || fputs("hello from the empty root\n", f) == EOF || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    printf("hello: wrote %s\n", path);
    return 0;
}
