/* Checks the cross-language vectors through the C API. Reads commands on stdin, one per line:
 *   key SEED PUBKEY ADDRESS
 *   tx SEED CHAIN_ID NONCE TO AMOUNT FEE SIGNED_BYTES HASH
 *   stake SEED CHAIN_ID NONCE VALIDATOR_KEY AMOUNT FEE SIGNED_BYTES HASH
 *   unstake SEED CHAIN_ID NONCE VALIDATOR AMOUNT FEE SIGNED_BYTES HASH
 *   unjail SEED CHAIN_ID NONCE VALIDATOR FEE SIGNED_BYTES HASH
 *   verify PUBKEY MSG SIG EXPECT      (MSG "-" is empty; EXPECT 1 valid, 0 invalid)
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
    } else if ((strcmp(argv[0], "tx") == 0 || strcmp(argv[0], "stake") == 0 ||
                strcmp(argv[0], "unstake") == 0) && argc == 9) {
      batara_keypair *k = NULL;
      batara_bytes *tx = NULL;
      uint8_t hash[32];
      uint64_t nonce = strtoull(argv[3], NULL, 10);
      ok = unhex(argv[1], buf1, 32) == 32 && batara_keypair_from_seed(buf1, &k) == BATARA_RESULT_OK;
      if (ok && argv[0][0] == 't') {
        ok = batara_transfer_sign(k, argv[2], nonce, argv[4], argv[5], argv[6], &tx, hash) == BATARA_RESULT_OK;
      } else if (ok && argv[0][0] == 's') {
        ok = unhex(argv[4], buf2, 32) == 32 &&
             batara_stake_sign(k, argv[2], nonce, buf2, argv[5], argv[6], &tx, hash) == BATARA_RESULT_OK;
      } else if (ok) {
        ok = batara_unstake_sign(k, argv[2], nonce, argv[4], argv[5], argv[6], &tx, hash) == BATARA_RESULT_OK;
      }
      ok = ok && same_tx(tx, hash, argv[7], argv[8]);
      batara_bytes_free(tx);
      batara_keypair_free(k);
    } else if (strcmp(argv[0], "unjail") == 0 && argc == 8) {
      batara_keypair *k = NULL;
      batara_bytes *tx = NULL;
      uint8_t hash[32];
      ok = unhex(argv[1], buf1, 32) == 32 && batara_keypair_from_seed(buf1, &k) == BATARA_RESULT_OK &&
           batara_unjail_sign(k, argv[2], strtoull(argv[3], NULL, 10), argv[4], argv[5], &tx, hash) ==
               BATARA_RESULT_OK &&
           same_tx(tx, hash, argv[6], argv[7]);
      batara_bytes_free(tx);
      batara_keypair_free(k);
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
