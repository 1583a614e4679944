/* neurohw_driver.h: a small driver for the AXI4-Lite register bank of a neurohw AxiSystem
 * (docs/integration.md, "The chip's AXI wrapper"). Register offsets and fields come from the
 * generated neurohw_regs.h (neurohw.host.axi.write_c_driver writes both).
 *
 * The platform supplies the bus: two functions that do one 32-bit AXI4-Lite read or write at
 * an offset from the bank's base and return 0, or non-zero on a bus error (SLVERR, timeout).
 * The driver has no global state, allocates nothing and needs only <stdint.h>. */
#ifndef NEUROHW_DRIVER_H
#define NEUROHW_DRIVER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*neurohw_read32_fn)(void *context, uint32_t offset, uint32_t *value);
typedef int (*neurohw_write32_fn)(void *context, uint32_t offset, uint32_t value);

struct neurohw_dev {
    neurohw_read32_fn read32;
    neurohw_write32_fn write32;
    void *context; /* passed back to read32/write32 as it is */
};

enum neurohw_status {
    NEUROHW_OK = 0,
    NEUROHW_EBUS = -1,     /* read32/write32 failed */
    NEUROHW_ENODEV = -2,   /* ID or VERSION is not this driver's */
    NEUROHW_EBUSY = -3,    /* a command is already in flight */
    NEUROHW_ECMD = -4,     /* the chip refused the command (core, target or address) */
    NEUROHW_ETIMEOUT = -5, /* the command did not finish in NEUROHW_CMD_POLLS polls */
    NEUROHW_ENOCMD = -6    /* the chip was built without the command path (CONFIG.DEBUG = 0) */
};

#ifndef NEUROHW_CMD_POLLS
#define NEUROHW_CMD_POLLS 100000
#endif

/* Check ID and VERSION. */
int neurohw_init(const struct neurohw_dev *dev);
/* Reset the chip, its stream framers and counters (the register bank keeps its values). */
int neurohw_soft_reset(const struct neurohw_dev *dev);
/* 1: the input stream is taken; 0: s_axis_tready stays low before the next beat. */
int neurohw_set_step_enable(const struct neurohw_dev *dev, int enable);
/* Read any register (a counter, STATUS, ...) by its NEUROHW_* offset. */
int neurohw_read_register(const struct neurohw_dev *dev, uint32_t offset, uint32_t *value);
/* Core `core`'s ingress counters and flags (CORE_INVALID, CORE_EOS_DROPPED, CORE_FLAGS). */
int neurohw_core_counters(const struct neurohw_dev *dev, uint32_t core, uint32_t *invalid,
                          uint32_t *eos_dropped, uint32_t *flags);
/* One command through the chip's command port (targets: docs/core.md). */
int neurohw_read_state(const struct neurohw_dev *dev, uint32_t core, uint32_t target,
                       uint32_t neuron, uint32_t axon, int32_t *value);
int neurohw_write_state(const struct neurohw_dev *dev, uint32_t core, uint32_t target,
                        uint32_t neuron, uint32_t axon, int32_t value);
/* Learning (STDP) of one core: *enabled = 1 while it learns; 0 freezes weights and traces.
 * A core without STDP refuses (NEUROHW_ECMD). */
int neurohw_learning(const struct neurohw_dev *dev, uint32_t core, int *enabled);
int neurohw_set_learning(const struct neurohw_dev *dev, uint32_t core, int enable);
/* A short English text for a status code. */
const char *neurohw_strerror(int status);

#ifdef __cplusplus
}
#endif

#endif /* NEUROHW_DRIVER_H */
