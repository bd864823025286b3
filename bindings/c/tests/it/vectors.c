/* Checks the cross-language vectors through the C API. Reads commands on stdin, one per line:
 *   key SEED PUBKEY ADDRESS
 *   tx SEED CHAIN_ID NONCE KIND_JSON FEE SIGNED_BYTES HASH   (any kind, signed from its JSON)
 *   verify PUBKEY MSG SIG EXPECT      (MSG "-" is empty; EXPECT 1 valid, 0 invalid)
 *   error KIND RPC_CODE PYTHON JS C   (a row of errors.json: the header's constant for KIND is C,
 *                                      and batara_error_table_json reports the same row)
 * Hex values carry no 0x. Prints "N passed, M failed"; exits 1 on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batara.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap) {
  size_t n = strlen(s);
  if (strcmp(s, "-") == 0) return 0;
  if (n % 2 || n / 2 > cap) return (size_t)-1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) return (size_t)-1;
    out[i] = (uint8_t)v;
  }
  return n / 2;
}

static void tohex(const uint8_t *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
  out[2 * n] = 0;
}

/* Whether the signed bytes and hash equal the expected hex. */
static int same_tx(const batara_bytes *tx, const uint8_t *hash, const char *want_tx, const char *want_hash) {
  static char txhex[1 << 15];
  char hashhex[65];
  if (tx == NULL || 2 * batara_bytes_len(tx) + 1 > sizeof txhex) return 0;
  tohex(batara_bytes_data(tx), batara_bytes_len(tx), txhex);
  tohex(hash, 32, hashhex);
  return strcmp(txhex, want_tx) == 0 && strcmp(hashhex, want_hash) == 0;
}

/* The header's result for each error kind of tests/vectors/errors.json. */
static const struct {
  const char *kind;
  enum batara_result result;
} RESULTS[] = {
    {"rejected", BATARA_RESULT_REJECTED}, {"not_found", BATARA_RESULT_NOT_FOUND},
    {"invalid_input", BATARA_RESULT_INVALID_INPUT}, {"timeout", BATARA_RESULT_TIMEOUT},
    {"stopped", BATARA_RESULT_STOPPED}, {"not_dev", BATARA_RESULT_NOT_DEV},
    {"config", BATARA_RESULT_CONFIG}, {"io", BATARA_RESULT_IO},
    {"internal", BATARA_RESULT_INTERNAL},
};

static char line[1 << 16];
static uint8_t buf1[1 << 14], buf2[1 << 14], buf3[1 << 14];

int main(void) {
  int passed = 0, failed = 0;
  while (fgets(line, sizeof line, stdin)) {
    char *argv[12];
    int argc = 0;
    for (char *t = strtok(line, " \n"); t && argc < 12; t = strtok(NULL, " \n")) argv[argc++] = t;
    if (argc == 0) continue;
    int ok = 0;
    if (strcmp(argv[0], "key") == 0 && argc == 4) {
      batara_keypair *k = NULL;
      uint8_t pk[32];
      char pkhex[65], addr[64];
      ok = unhex(argv[1], buf1, 32) == 32 && batara_keypair_from_seed(buf1, &k) == BATARA_RESULT_OK &&
           batara_keypair_public_key(k, pk) == BATARA_RESULT_OK &&
           batara_keypair_address(k, addr, sizeof addr, NULL) == BATARA_RESULT_OK;
      if (ok) {
        tohex(pk, 32, pkhex);
        ok = strcmp(pkhex, argv[2]) == 0 && strcmp(addr, argv[3]) == 0;
      }
      batara_keypair_free(k);
    } else if (strcmp(argv[0], "tx") == 0 && argc == 8) {
      batara_keypair *k = NULL;
      batara_bytes *tx = NULL;
      uint8_t hash[32];
      ok = unhex(argv[1], buf1, 32) == 32 && batara_keypair_from_seed(buf1, &k) == BATARA_RESULT_OK &&
           batara_tx_sign_json(k, argv[2], strtoull(argv[3], NULL, 10), argv[4], argv[5], &tx, hash) ==
               BATARA_RESULT_OK &&
           same_tx(tx, hash, argv[6], argv[7]);
      batara_bytes_free(tx);
      batara_keypair_free(k);
    } else if (strcmp(argv[0], "error") == 0 && argc == 6) {
      int constant = -1;
      for (size_t i = 0; i < sizeof RESULTS / sizeof RESULTS[0]; i++)
        if (strcmp(RESULTS[i].kind, argv[1]) == 0) constant = (int)RESULTS[i].result;
      batara_bytes *table = NULL;
      char row[512];
      snprintf(row, sizeof row, "{\"c\":%s,\"js\":\"%s\",\"kind\":\"%s\",\"python\":\"%s\",\"rpc_code\":%s}",
               argv[5], argv[4], argv[1], argv[3], argv[2]);
      ok = constant == atoi(argv[5]) && batara_error_table_json(&table) == BATARA_RESULT_OK;
      if (ok) {
        static char text[1 << 14];
        size_t n = batara_bytes_len(table);
        ok = n < sizeof text;
        if (ok) {
          memcpy(text, batara_bytes_data(table), n);
          text[n] = 0;
          ok = strstr(text, row) != NULL;
        }
      }
      batara_bytes_free(table);
    } else if (strcmp(argv[0], "verify") == 0 && argc == 5) {
      size_t pkn = unhex(argv[1], buf1, sizeof buf1), mn = unhex(argv[2], buf2, sizeof buf2),
             sn = unhex(argv[3], buf3, sizeof buf3);
      int expect = atoi(argv[4]);
      int valid = pkn == 32 && sn == 64 && mn != (size_t)-1 &&
                  batara_verify(buf1, buf2, mn, buf3) == BATARA_RESULT_OK;
      ok = valid == expect;
    }
    if (ok) {
      passed++;
    } else {
      failed++;
      fprintf(stderr, "FAILED: %s %s\n", argv[0], argc > 1 ? argv[1] : "");
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
