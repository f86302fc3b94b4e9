#include "textflag.h"

// MASK compares both 32-byte halves (lo, hi) with the splat in Y2 and stores
// the 64-bit mask of equal bytes (bit k for byte k) in out.
#define MASK(lo, hi, out) \
	VPCMPEQB lo, Y2, Y3; \
	VPCMPEQB hi, Y2, Y4; \
	VPMOVMSKB Y3, AX; \
	VPMOVMSKB Y4, BX; \
	SHLQ $32, BX; \
	ORQ BX, AX; \
	MOVQ AX, out

// func blockMasks(p *byte) (quote, backslash, open, close, ctl uint64)
//
// Classifies the 64 bytes at p, one bit per byte (bit k for p[k]):
// '"', '\\', '{' or '[', '}' or ']', and bytes below 0x20. Needs AVX2.
TEXT ·blockMasks(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), SI
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1

	VMOVDQU c22<>(SB), Y2 // '"'
	MASK(Y0, Y1, quote+8(FP))

	VMOVDQU c5c<>(SB), Y2 // '\\'
	MASK(Y0, Y1, backslash+16(FP))

	// '[' and ']' are '{' and '}' without bit 0x20: compare x|0x20.
	VMOVDQU c20<>(SB), Y2
	VPOR Y0, Y2, Y5
	VPOR Y1, Y2, Y6

	VMOVDQU c7b<>(SB), Y2 // '{' or '['
	MASK(Y5, Y6, open+24(FP))

	VMOVDQU c7d<>(SB), Y2 // '}' or ']'
	MASK(Y5, Y6, close+32(FP))

	// x < 0x20 (unsigned): max(x, 0x1f) == 0x1f.
	VMOVDQU c1f<>(SB), Y2
	VPMAXUB Y0, Y2, Y7
	VPMAXUB Y1, Y2, Y8
	MASK(Y7, Y8, ctl+40(FP))

	VZEROUPPER
	RET

#define SPLAT(name, b) \
	DATA name<>+0(SB)/8, $b; \
	DATA name<>+8(SB)/8, $b; \
	DATA name<>+16(SB)/8, $b; \
	DATA name<>+24(SB)/8, $b; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

SPLAT(c22, 0x2222222222222222)
SPLAT(c5c, 0x5c5c5c5c5c5c5c5c)
SPLAT(c20, 0x2020202020202020)
SPLAT(c7b, 0x7b7b7b7b7b7b7b7b)
SPLAT(c7d, 0x7d7d7d7d7d7d7d7d)
SPLAT(c1f, 0x1f1f1f1f1f1f1f1f)
