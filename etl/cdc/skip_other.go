//go:build !amd64

package cdc

const haveBlockMasks = false

func blockMasks(*byte) (quote, backslash, open, close, ctl uint64) { panic("unreachable") }
