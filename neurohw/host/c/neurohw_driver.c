/* neurohw_driver.c: see neurohw_driver.h. */
#include "neurohw_driver.h"

#include "neurohw_regs.h"

static int rd(const struct neurohw_dev *dev, uint32_t offset, uint32_t *value)
{
    return dev->read32(dev->context, offset, value) ? NEUROHW_EBUS : NEUROHW_OK;
}

static int wr(const struct neurohw_dev *dev, uint32_t offset, uint32_t value)
{
    return dev->write32(dev->context, offset, value) ? NEUROHW_EBUS : NEUROHW_OK;
}

int neurohw_init(const struct neurohw_dev *dev)
{
    uint32_t id, version;
    int status = rd(dev, NEUROHW_ID, &id);
    if (status == NEUROHW_OK)
        status = rd(dev, NEUROHW_VERSION, &version);
    if (status != NEUROHW_OK)
        return status;
    return (id == NEUROHW_MAGIC && version == NEUROHW_REGMAP_VERSION) ? NEUROHW_OK
                                                                       : NEUROHW_ENODEV;
}

int neurohw_soft_reset(const struct neurohw_dev *dev)
{
    uint32_t control;
    int status = rd(dev, NEUROHW_CONTROL, &control);
    if (status != NEUROHW_OK)
        return status;
    return wr(dev, NEUROHW_CONTROL, control | NEUROHW_CONTROL_SOFT_RESET_MASK);
}

int neurohw_set_step_enable(const struct neurohw_dev *dev, int enable)
{
    uint32_t control;
    int status = rd(dev, NEUROHW_CONTROL, &control);
    if (status != NEUROHW_OK)
        return status;
    control &= ~(NEUROHW_CONTROL_SOFT_RESET_MASK | NEUROHW_CONTROL_STEP_ENABLE_MASK);
    if (enable)
        control |= NEUROHW_CONTROL_STEP_ENABLE_MASK;
    return wr(dev, NEUROHW_CONTROL, control);
}

int neurohw_read_register(const struct neurohw_dev *dev, uint32_t offset, uint32_t *value)
{
    return rd(dev, offset, value);
}

int neurohw_core_counters(const struct neurohw_dev *dev, uint32_t core, uint32_t *invalid,
                          uint32_t *eos_dropped, uint32_t *flags)
{
    int status = wr(dev, NEUROHW_CORE_SELECT, core);
    if (status == NEUROHW_OK)
        status = rd(dev, NEUROHW_CORE_INVALID, invalid);
    if (status == NEUROHW_OK)
        status = rd(dev, NEUROHW_CORE_EOS_DROPPED, eos_dropped);
    if (status == NEUROHW_OK)
        status = rd(dev, NEUROHW_CORE_FLAGS, flags);
    return status;
}

static int command(const struct neurohw_dev *dev, int write, uint32_t core, uint32_t target,
                   uint32_t neuron, uint32_t axon, int32_t data, int32_t *result)
{
    uint32_t value;
    long polls;
    int status = rd(dev, NEUROHW_CONFIG, &value);
    if (status != NEUROHW_OK)
        return status;
    if (!(value & NEUROHW_CONFIG_DEBUG_MASK))
        return NEUROHW_ENOCMD;
    status = rd(dev, NEUROHW_CMD_STATUS, &value);
    if (status != NEUROHW_OK)
        return status;
    if (value & NEUROHW_CMD_STATUS_BUSY_MASK)
        return NEUROHW_EBUSY;
    if ((status = wr(dev, NEUROHW_CMD_CORE, core)) != NEUROHW_OK ||
        (status = wr(dev, NEUROHW_CMD_TARGET, target)) != NEUROHW_OK ||
        (status = wr(dev, NEUROHW_CMD_NEURON, neuron)) != NEUROHW_OK ||
        (status = wr(dev, NEUROHW_CMD_AXON, axon)) != NEUROHW_OK ||
        (status = wr(dev, NEUROHW_CMD_DATA, (uint32_t)data)) != NEUROHW_OK ||
        (status = wr(dev, NEUROHW_CMD_ISSUE, write ? NEUROHW_CMD_ISSUE_WRITE_MASK : 0u)) !=
            NEUROHW_OK)
        return status;
    for (polls = 0; polls < NEUROHW_CMD_POLLS; polls++) {
        status = rd(dev, NEUROHW_CMD_STATUS, &value);
        if (status != NEUROHW_OK)
            return status;
        if (!(value & NEUROHW_CMD_STATUS_BUSY_MASK))
            break;
    }
    if (value & NEUROHW_CMD_STATUS_BUSY_MASK)
        return NEUROHW_ETIMEOUT;
    if (value & NEUROHW_CMD_STATUS_ERROR_MASK)
        return NEUROHW_ECMD;
    if (result) {
        status = rd(dev, NEUROHW_CMD_RESULT, &value);
        if (status != NEUROHW_OK)
            return status;
        *result = (int32_t)value;
    }
    return NEUROHW_OK;
}

int neurohw_read_state(const struct neurohw_dev *dev, uint32_t core, uint32_t target,
                       uint32_t neuron, uint32_t axon, int32_t *value)
{
    return command(dev, 0, core, target, neuron, axon, 0, value);
}

int neurohw_write_state(const struct neurohw_dev *dev, uint32_t core, uint32_t target,
                        uint32_t neuron, uint32_t axon, int32_t value)
{
    return command(dev, 1, core, target, neuron, axon, value, 0);
}

int neurohw_learning(const struct neurohw_dev *dev, uint32_t core, int *enabled)
{
    int32_t value;
    int status = neurohw_read_state(dev, core, NEUROHW_TARGET_STATUS, NEUROHW_STATUS_LEARNING,
                                    0, &value);
    if (status == NEUROHW_OK)
        *enabled = value & 1;
    return status;
}

int neurohw_set_learning(const struct neurohw_dev *dev, uint32_t core, int enable)
{
    return neurohw_write_state(dev, core, NEUROHW_TARGET_STATUS, NEUROHW_STATUS_LEARNING, 0,
                               enable ? 1 : 0);
}

const char *neurohw_strerror(int status)
{
    switch (status) {
    case NEUROHW_OK: return "ok";
    case NEUROHW_EBUS: return "register access failed";
    case NEUROHW_ENODEV: return "no neurohw AxiSystem of this register map version";
    case NEUROHW_EBUSY: return "a command is already in flight";
    case NEUROHW_ECMD: return "the chip refused the command";
    case NEUROHW_ETIMEOUT: return "the command did not finish";
    case NEUROHW_ENOCMD: return "the chip has no command path (built without debug)";
    default: return "unknown status";
    }
}
