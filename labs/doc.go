// Package labs embeds the built-in exercise catalog: one folder per track.
package labs
