/* Wine 8 (Debian 12) has no bcryptprimitives.dll, whose ProcessPrng Rust's std imports for
 * random numbers, so a Rust .exe fails to start there with "bcryptprimitives.dll not found".
 * This stand-in exports ProcessPrng and answers it with RtlGenRandom (SystemFunction036 in
 * advapi32), which Wine has. Only for running the Windows build under Wine on Linux; real
 * Windows 10 and later ship the DLL. Built by scripts/windows-smoke.sh. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
