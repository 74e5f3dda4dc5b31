;; LZ4 block compressor, the source of the WebAssembly module embedded in lz4_encode_wasm.ts. The classic
;; single-pass greedy matcher: a 64 Ki-entry hash of 4-byte sequences and LZ4's "skip faster over
;; incompressible data" heuristic. It honours the format's end-of-block rules (the last 5 bytes are
;; literals, no match starts in the last 12), so every LZ4 decoder (liblz4, pierrec/lz4 in Litestream)
;; accepts its output. Its output is byte for byte that of the TypeScript reference in
;; tests/codec/lz4_reference_compressor.ts (test: lz4_test.ts).
;;
;; Memory: the hash table at 0 (64 Ki × 4 bytes), the input block at SRC = 256 KiB, the output at
;; DST = SRC + 4 MiB (room for compressBound(4 MiB)). Table entries hold position + bias, where the bias
;; grows by each block's length, so an entry below the current block's first value belongs to an earlier
;; block and the 256 KiB table need not be cleared for every (often tiny) block.
;;
;; compress(n) -> compressed length of the n input bytes at SRC, written at DST; -1 when that would not be
;; smaller than the input (the caller then stores the block uncompressed).
;;
;; Rebuild: see lz4_encode_wasm.ts.
(module
  (memory (export "mem") 133)
  (global $next (mut i32) (i32.const 1))

  ;; Length bytes beyond a 15 in the token: 255s, then the rest.
  (func $length (param $op i32) (param $rest i32) (result i32)
    (block $done
      (loop $more
        (br_if $done (i32.lt_u (local.get $rest) (i32.const 255)))
        (i32.store8 (local.get $op) (i32.const 255))
        (local.set $op (i32.add (local.get $op) (i32.const 1)))
        (local.set $rest (i32.sub (local.get $rest) (i32.const 255)))
        (br $more)))
    (i32.store8 (local.get $op) (local.get $rest))
    (i32.add (local.get $op) (i32.const 1)))

  ;; The final sequence, literals only, from $anchor to $end; $op is absolute. Returns the compressed
  ;; length, or -1 when the block did not shrink.
  (func $finish (param $anchor i32) (param $end i32) (param $op i32) (param $n i32) (result i32)
    (local $lit i32)
    (local.set $lit (i32.sub (local.get $end) (local.get $anchor)))
    (if (i32.ge_u
          (i32.add (i32.add (i32.sub (local.get $op) (i32.const 4456448)) (i32.const 1))
            (i32.add (i32.div_u (i32.add (local.get $lit) (i32.const 240)) (i32.const 255)) (local.get $lit)))
          (local.get $n))
      (then (return (i32.const -1))))
    (i32.store8 (local.get $op)
      (i32.shl (select (i32.const 15) (local.get $lit) (i32.ge_u (local.get $lit) (i32.const 15))) (i32.const 4)))
    (local.set $op (i32.add (local.get $op) (i32.const 1)))
    (if (i32.ge_u (local.get $lit) (i32.const 15))
      (then (local.set $op (call $length (local.get $op) (i32.sub (local.get $lit) (i32.const 15))))))
    (memory.copy (local.get $op) (local.get $anchor) (local.get $lit))
    (i32.sub (i32.add (local.get $op) (local.get $lit)) (i32.const 4456448)))

  (func (export "compress") (param $n i32) (result i32)
    (local $end i32) (local $valid i32) (local $bias i32) (local $mflimit i32) (local $matchlimit i32)
    (local $anchor i32) (local $ip i32) (local $op i32) (local $hits i32) (local $seq i32) (local $slot i32)
    (local $stored i32) (local $ref i32) (local $len i32) (local $lit i32) (local $ml i32) (local $token i32)
    (local $x i64)
    ;; SRC = 262144, DST = 4456448
    (local.set $end (i32.add (i32.const 262144) (local.get $n)))
    (local.set $op (i32.const 4456448))
    (if (i32.lt_u (local.get $n) (i32.const 13))
      (then (return (call $finish (i32.const 262144) (local.get $end) (local.get $op) (local.get $n)))))
    (if (i32.ge_u (i32.add (global.get $next) (local.get $n)) (i32.const 0x7fff0000))
      (then
        (memory.fill (i32.const 0) (i32.const 0) (i32.const 262144))
        (global.set $next (i32.const 1))))
    (local.set $valid (global.get $next))
    (local.set $bias (i32.sub (local.get $valid) (i32.const 262144)))
    (global.set $next (i32.add (global.get $next) (i32.add (local.get $n) (i32.const 1))))
    (local.set $mflimit (i32.sub (local.get $end) (i32.const 12)))
    (local.set $matchlimit (i32.sub (local.get $end) (i32.const 5)))
    (local.set $anchor (i32.const 262144))
    (local.set $ip (i32.const 262144))
    (block $out
      (loop $main
        (br_if $out (i32.ge_u (local.get $ip) (local.get $mflimit)))
        ;; Find a match: probe the hash of the 4 bytes at ip, stepping faster the longer we miss.
        (local.set $hits (i32.const 64))
        (block $found
          (loop $search
            (local.set $seq (i32.load (local.get $ip)))
            (local.set $slot
              (i32.shl (i32.shr_u (i32.mul (local.get $seq) (i32.const 0x9e3779b1)) (i32.const 16)) (i32.const 2)))
            (local.set $stored (i32.load (local.get $slot)))
            (i32.store (local.get $slot) (i32.add (local.get $ip) (local.get $bias)))
            (local.set $ref (i32.sub (local.get $stored) (local.get $bias)))
            (if (i32.and
                  (i32.ge_u (local.get $stored) (local.get $valid))
                  (i32.le_u (i32.sub (local.get $ip) (local.get $ref)) (i32.const 65535)))
              (then (br_if $found (i32.eq (i32.load (local.get $ref)) (local.get $seq)))))
            (local.set $ip (i32.add (local.get $ip) (i32.shr_u (local.get $hits) (i32.const 6))))
            (local.set $hits (i32.add (local.get $hits) (i32.const 1)))
            (if (i32.ge_u (local.get $ip) (local.get $mflimit))
              (then (return (call $finish (local.get $anchor) (local.get $end) (local.get $op) (local.get $n)))))
            (br $search)))
        ;; Extend backwards over literals that also match.
        (block $back
          (loop $b
            (br_if $back (i32.le_u (local.get $ip) (local.get $anchor)))
            (br_if $back (i32.le_u (local.get $ref) (i32.const 262144)))
            (br_if $back (i32.ne
              (i32.load8_u (i32.sub (local.get $ip) (i32.const 1)))
              (i32.load8_u (i32.sub (local.get $ref) (i32.const 1)))))
            (local.set $ip (i32.sub (local.get $ip) (i32.const 1)))
            (local.set $ref (i32.sub (local.get $ref) (i32.const 1)))
            (br $b)))
        ;; Extend forwards eight bytes at a time while they fit, then the first differing byte from the
        ;; words' difference (little-endian: its trailing zero bits), else byte by byte near the end.
        (local.set $len (i32.const 4))
        (block $fwd
          (block $tail
            (loop $words
              (br_if $tail
                (i32.gt_u (i32.add (i32.add (local.get $ip) (local.get $len)) (i32.const 8)) (local.get $matchlimit)))
              (local.set $x (i64.xor
                (i64.load (i32.add (local.get $ip) (local.get $len)))
                (i64.load (i32.add (local.get $ref) (local.get $len)))))
              (if (i64.ne (local.get $x) (i64.const 0))
                (then
                  (local.set $len
                    (i32.add (local.get $len) (i32.wrap_i64 (i64.shr_u (i64.ctz (local.get $x)) (i64.const 3)))))
                  (br $fwd)))
              (local.set $len (i32.add (local.get $len) (i32.const 8)))
              (br $words)))
          (loop $bytes
            (br_if $fwd (i32.ge_u (i32.add (local.get $ip) (local.get $len)) (local.get $matchlimit)))
            (br_if $fwd (i32.ne
              (i32.load8_u (i32.add (local.get $ip) (local.get $len)))
              (i32.load8_u (i32.add (local.get $ref) (local.get $len)))))
            (local.set $len (i32.add (local.get $len) (i32.const 1)))
            (br $bytes)))
        ;; The sequence: token, literal length, literals, offset, match length.
        (local.set $lit (i32.sub (local.get $ip) (local.get $anchor)))
        (local.set $ml (i32.sub (local.get $len) (i32.const 4)))
        (local.set $token (local.get $op))
        (local.set $op (i32.add (local.get $op) (i32.const 1)))
        (if (i32.ge_u (local.get $lit) (i32.const 15))
          (then (local.set $op (call $length (local.get $op) (i32.sub (local.get $lit) (i32.const 15))))))
        (memory.copy (local.get $op) (local.get $anchor) (local.get $lit))
        (local.set $op (i32.add (local.get $op) (local.get $lit)))
        (i32.store16 (local.get $op) (i32.sub (local.get $ip) (local.get $ref)))
        (local.set $op (i32.add (local.get $op) (i32.const 2)))
        (if (i32.ge_u (local.get $ml) (i32.const 15))
          (then (local.set $op (call $length (local.get $op) (i32.sub (local.get $ml) (i32.const 15))))))
        (i32.store8 (local.get $token)
          (i32.or
            (i32.shl (select (i32.const 15) (local.get $lit) (i32.ge_u (local.get $lit) (i32.const 15))) (i32.const 4))
            (select (i32.const 15) (local.get $ml) (i32.ge_u (local.get $ml) (i32.const 15)))))
        (if (i32.gt_u (i32.sub (local.get $op) (i32.const 4456448)) (local.get $n)) (then (return (i32.const -1))))
        (local.set $ip (i32.add (local.get $ip) (local.get $len)))
        (local.set $anchor (local.get $ip))
        ;; Index a position inside the match so the next probe can find nearby repeats.
        (if (i32.lt_u (local.get $ip) (local.get $mflimit))
          (then
            (i32.store
              (i32.shl
                (i32.shr_u (i32.mul (i32.load (i32.sub (local.get $ip) (i32.const 2))) (i32.const 0x9e3779b1))
                  (i32.const 16))
                (i32.const 2))
              (i32.add (i32.sub (local.get $ip) (i32.const 2)) (local.get $bias)))))
        (br $main)))
    (call $finish (local.get $anchor) (local.get $end) (local.get $op) (local.get $n))))
