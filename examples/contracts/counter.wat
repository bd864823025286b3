;; A counter in the WebAssembly text format, following Batara's calling convention
;; (docs/CONTRACTS.md): methods are exports taking and returning nothing, results are JSON.
;;
;;   init       optional; stores 0
;;   increment  adds one, emits an event with topic "incremented" and the new count as data
;;   get        returns the count as a JSON number, e.g. 42
;;
;; Upload it as it is (`batara tx upload --wasm counter.wat` compiles the text format), or
;; compile it with any WebAssembly toolchain (wat2wasm).
(module
  (import "env" "storage_get" (func $storage_get (param i32 i32 i32 i32) (result i32)))
  (import "env" "storage_set" (func $storage_set (param i32 i32 i32 i32)))
  (import "env" "return_data" (func $return_data (param i32 i32)))
  (import "env" "emit" (func $emit (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  ;; 0: the storage key; 16: the event's topics (a length byte, then the topic);
  ;; 64: the stored u64; 128..160: the decimal text of a number, written backwards from 160.
  (data (i32.const 0) "count")
  (data (i32.const 16) "\0bincremented")

  (func $load (result i64)
    (if (i32.lt_s (call $storage_get (i32.const 0) (i32.const 5) (i32.const 64) (i32.const 8))
                  (i32.const 0))
      (then (return (i64.const 0))))
    (i64.load (i32.const 64)))

  (func $store (param $n i64)
    (i64.store (i32.const 64) (local.get $n))
    (call $storage_set (i32.const 0) (i32.const 5) (i32.const 64) (i32.const 8)))

  ;; Writes $n in decimal ending at offset 160; returns where the text starts.
  (func $decimal (param $n i64) (result i32)
    (local $p i32)
    (local.set $p (i32.const 160))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $n) (i64.const 0))))
    (local.get $p))

  (func (export "init")
    (call $store (i64.const 0)))

  (func (export "increment")
    (local $n i64)
    (local $p i32)
    (local.set $n (i64.add (call $load) (i64.const 1)))
    (call $store (local.get $n))
    (local.set $p (call $decimal (local.get $n)))
    (call $emit (i32.const 16) (i32.const 12)
                (local.get $p) (i32.sub (i32.const 160) (local.get $p))))

  (func (export "get")
    (local $p i32)
    (local.set $p (call $decimal (call $load)))
    (call $return_data (local.get $p) (i32.sub (i32.const 160) (local.get $p)))))
