/* m2u_device_info.c - prints the libm2urt version and the devices it can
 * use. Plain C99: also proves that m2urt.h is usable from C firmware code.
 * Usage: m2u_device_info            Exit status: 0 ok, 1 error. */
#include <stdio.h>

#include "m2urt.h"

int main(void) {
  int count = 0;
  int device;
  m2u_status status;

  printf("libm2urt %s (header %d.%d.%d)\n", m2u_version_string(), M2U_VERSION_MAJOR,
         M2U_VERSION_MINOR, M2U_VERSION_PATCH);
  if (m2u_version() != M2U_VERSION) {
    fprintf(stderr, "warning: header version %d differs from library version %d\n", M2U_VERSION,
            m2u_version());
  }
  status = m2u_device_count(&count);
  if (status != M2U_OK) {
    fprintf(stderr, "error: cannot count devices: %s\n", m2u_status_string(status));
    return 1;
  }
  printf("%d device(s)\n", count);
  for (device = 0; device < count; ++device) {
    m2u_device_info info;
    status = m2u_query_device(device, &info);
    if (status != M2U_OK) {
      fprintf(stderr, "error: device %d: %s\n", device, m2u_status_string(status));
      return 1;
    }
    printf("  %d: %s, compute %d.%d, %d SMs, %.1f GiB, %zu KiB shared/block%s\n", device, info.name,
           info.compute_capability_major, info.compute_capability_minor,
           info.multiprocessor_count, (double)info.global_memory_bytes / (1024.0 * 1024.0 * 1024.0),
           info.shared_memory_per_block_bytes / 1024, info.is_emulated ? " (emulated on the CPU)" : "");
  }
  return 0;
}
