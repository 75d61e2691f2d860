"""Safe input for CompressAI's C++ rANS decoder, which does not bounds-check what it reads.

``RansDecoder.decode_with_indexes`` and ``decode_stream`` read 32-bit words from the
string without looking at its length.  Two things make them read past the end:

* the escape (bypass) coding of large values: each ``0xF`` nibble adds 15 to the
  number of bypass nibbles still to read, so a run of ``0xFF`` bytes makes the
  decoder read about 15 bytes further per byte of string (found by fuzzing: 1 MiB
  of ``0xFF`` crashed the process);
* the renormalisation and the bypass count of every symbol: once the string is
  exhausted, each symbol may read up to two more words.

Padding the string with zero bytes by the worst case of both keeps every read
inside the buffer; zeros stop every escape run, and whatever the padding decodes
to is rejected by the latent digest.
"""

from __future__ import annotations

#: Zero bytes per byte of string: an escape run reads at most about 15 bytes per byte of string.
PAD_PER_BYTE = 16
#: Zero bytes per decoded symbol: renormalisation plus the bypass count read at most 8 bytes.
PAD_PER_SYMBOL = 16
#: Slack for the initial state (two words) and alignment.
PAD_SLACK = 64


def padded(string: bytes, symbols: int) -> bytes:
    """Return ``string`` followed by enough zero bytes that decoding ``symbols`` symbols stays inside it.

    Parameters
    ----------
    string : bytes
        The rANS string as stored in the file (any content, any length).
    symbols : int
        How many symbols the decoder will decode from it.

    Returns
    -------
    bytes
        ``string`` + ``PAD_PER_BYTE * len(string) + PAD_PER_SYMBOL * symbols + PAD_SLACK`` zero bytes.
    """
    return bytes(string) + bytes(PAD_PER_BYTE * len(string) + PAD_PER_SYMBOL * symbols + PAD_SLACK)
