// c_api_trainer.cpp - decoder fine-tuning's C API (m2urt.h, "Decoder
// fine-tuning on the device") over m2u::Trainer: growable options and
// stats read or written up to the caller's struct_size, messages kept on
// the handle.
#include <cstring>
#include <memory>

#include "c_api_support.h"
#include "trainer.h"

struct m2u_trainer {
  std::unique_ptr<m2u::Trainer> trainer;
  std::string message;  // for failures before the trainer is reached
};

namespace {

using m2u_capi::guarded;
using m2u_capi::set_last_error;

m2u_trainer_options default_options() {
  m2u_trainer_options o;
  std::memset(&o, 0, sizeof(o));
  o.struct_size = sizeof(o);
  o.max_batch = 1;
  o.max_height = 256;
  o.max_width = 256;
  o.device = 0;
  o.schedule = M2U_TRAIN_DECODER;
  o.loss = M2U_LOSS_BCE;
  o.optimizer = M2U_OPTIMIZER_ADAM;
  o.learning_rate = 1e-3f;
  o.momentum = 0.0f;
  o.weight_decay = 0.0f;
  o.beta1 = 0.9f;
  o.beta2 = 0.999f;
  o.alpha = 0.99f;
  o.epsilon = 1e-8f;
  o.dice_smoothing = 1.0f;
  return o;
}

// A call's failure before the trainer is reached: kept on the handle.
m2u_status refuse(m2u_trainer* trainer, m2u_status status, const std::string& message) {
  trainer->message = message;
  return status;
}

// Runs `body` on the trainer through guarded(); an exception's message
// (which guarded() keeps per thread) is kept on the handle too.
template <typename Body>
m2u_status on_trainer(m2u_trainer* trainer, Body body) {
  bool threw = true;
  const m2u_status status = guarded([&] {
    const m2u_status s = body();
    threw = false;
    return s;
  });
  if (threw) trainer->message = m2u_capi::thread_last_error();
  return status;
}

}  // namespace

extern "C" {

void m2u_trainer_options_init_sized(m2u_trainer_options* options, size_t size) {
  if (!options || size < sizeof(size_t)) return;
  m2u_capi::write_sized(default_options(), size, options);
}

m2u_status m2u_trainer_create(const m2u_model* model, const m2u_trainer_options* options, m2u_trainer** trainer) {
  if (!trainer) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_create: trainer is NULL");
  *trainer = nullptr;
  if (!model || !options) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_create: model or options is NULL");
  }
  m2u_trainer_options full;
  if (!m2u_capi::read_sized(*options, default_options(), offsetof(m2u_trainer_options, max_width) + sizeof(int),
                            &full)) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_create: options.struct_size is " +
                                                          std::to_string(options->struct_size) +
                                                          ": call m2u_trainer_options_init first");
  }
  return guarded([&] {
    m2u::TrainerOptions o;
    o.max_batch = full.max_batch;
    o.max_height = full.max_height;
    o.max_width = full.max_width;
    o.device = full.device;
    // Out-of-range enum values pass through as ints: Trainer::create names them.
    std::memcpy(&o.schedule, &full.schedule, sizeof(int));
    std::memcpy(&o.loss, &full.loss, sizeof(int));
    std::memcpy(&o.optimizer.kind, &full.optimizer, sizeof(int));
    o.optimizer.learning_rate = full.learning_rate;
    o.optimizer.momentum = full.momentum;
    o.optimizer.weight_decay = full.weight_decay;
    o.optimizer.beta1 = full.beta1;
    o.optimizer.beta2 = full.beta2;
    o.optimizer.alpha = full.alpha;
    o.optimizer.epsilon = full.epsilon;
    o.dice_smoothing = full.dice_smoothing;
    m2u_status status = M2U_OK;
    std::string error;
    std::unique_ptr<m2u::Trainer> created = m2u::Trainer::create(model->model, o, &status, &error);
    if (!created) return set_last_error(status, "m2u_trainer_create: " + error);
    *trainer = new m2u_trainer{std::move(created), std::string()};
    m2u_capi::thread_last_error().clear();
    return M2U_OK;
  });
}

void m2u_trainer_destroy(m2u_trainer* trainer) { delete trainer; }

const char* m2u_trainer_last_error(const m2u_trainer* trainer) {
  if (!trainer) return "m2u_trainer_last_error: trainer is NULL";
  return trainer->message.empty() ? trainer->trainer->last_error().c_str() : trainer->message.c_str();
}

m2u_status m2u_trainer_step(m2u_trainer* trainer, const m2u_image* images, const m2u_image* masks, float* loss,
                            int* skipped) {
  if (!trainer) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_step: trainer is NULL");
  trainer->message.clear();
  if (!images || !masks) return refuse(trainer, M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_step: images or masks is NULL");
  return on_trainer(trainer, [&] {
    m2u::TrainStepResult result;
    const m2u_status status = trainer->trainer->step(*images, *masks, &result);
    if (status == M2U_OK) {
      if (loss) *loss = static_cast<float>(result.loss);
      if (skipped) *skipped = result.skipped ? 1 : 0;
    }
    return status;
  });
}

void m2u_trainer_evaluation_init_sized(m2u_trainer_evaluation* evaluation, size_t size) {
  if (!evaluation || size < sizeof(size_t)) return;
  m2u_trainer_evaluation zero;
  std::memset(&zero, 0, sizeof(zero));
  m2u_capi::write_sized(zero, size, evaluation);
}

m2u_status m2u_trainer_evaluate(m2u_trainer* trainer, const m2u_image* images, const m2u_image* masks,
                                m2u_trainer_evaluation* evaluation) {
  if (!trainer) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_evaluate: trainer is NULL");
  trainer->message.clear();
  if (!images || !masks || !evaluation) {
    return refuse(trainer, M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_evaluate: images, masks or evaluation is NULL");
  }
  if (evaluation->struct_size < sizeof(size_t)) {
    return refuse(trainer, M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_evaluate: evaluation.struct_size is " +
                                                           std::to_string(evaluation->struct_size) +
                                                           ": call m2u_trainer_evaluation_init first");
  }
  return on_trainer(trainer, [&] {
    m2u::EvaluationResult result;
    const m2u_status status = trainer->trainer->evaluate(*images, *masks, &result);
    if (status == M2U_OK) {
      m2u_trainer_evaluation e;
      std::memset(&e, 0, sizeof(e));
      e.iou = result.iou;
      e.intersection = result.intersection;
      e.union_pixels = result.union_pixels;
      m2u_capi::write_sized(e, evaluation->struct_size, evaluation);
    }
    return status;
  });
}

m2u_status m2u_trainer_save(m2u_trainer* trainer, const char* path, const char* provenance_lines) {
  if (!trainer) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_save: trainer is NULL");
  trainer->message.clear();
  if (!path) return refuse(trainer, M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_save: path is NULL");
  return on_trainer(trainer, [&] { return trainer->trainer->save(path, provenance_lines ? provenance_lines : ""); });
}

void m2u_trainer_stats_init_sized(m2u_trainer_stats* stats, size_t size) {
  if (!stats || size < sizeof(size_t)) return;
  m2u_trainer_stats zero;
  std::memset(&zero, 0, sizeof(zero));
  m2u_capi::write_sized(zero, size, stats);
}

m2u_status m2u_trainer_get_stats(const m2u_trainer* trainer, m2u_trainer_stats* stats) {
  if (!trainer || !stats) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_get_stats: NULL argument");
  if (stats->struct_size < sizeof(size_t)) {
    return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_get_stats: stats.struct_size is " +
                                                          std::to_string(stats->struct_size) +
                                                          ": call m2u_trainer_stats_init first");
  }
  m2u_trainer_stats s;
  std::memset(&s, 0, sizeof(s));
  const m2u::Trainer& t = *trainer->trainer;
  s.updates = t.updates();
  s.skipped_steps = t.skipped_steps();
  s.skipped_in_a_row = t.skipped_in_a_row();
  s.trainable_parameters = static_cast<long long>(t.trainable_count());
  s.device_bytes = t.device_bytes();
  m2u_capi::write_sized(s, stats->struct_size, stats);
  return M2U_OK;
}

m2u_status m2u_trainer_work_model(const m2u_trainer* trainer, const m2u_work_request* request,
                                   m2u_work_model** model) {
  if (!model) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_work_model: model is NULL");
  *model = nullptr;
  if (!trainer) return set_last_error(M2U_ERROR_INVALID_ARGUMENT, "m2u_trainer_work_model: trainer is NULL");
  return guarded([&] {
    const m2u::Trainer& t = *trainer->trainer;
    const m2u::ExecutionPlan& plan = t.engine().plan();
    m2u::WorkRequest r;
    const m2u::DeviceProfile* profile = nullptr;
    const m2u_status resolved = m2u_capi::resolve_work_request(request, plan.max_batch, plan.max_height,
                                                               plan.max_width, "m2u_trainer_work_model", &r, &profile);
    if (resolved != M2U_OK) return resolved;
    return m2u_capi::publish_work_model(t.work_model(r.batch, r.height, r.width, r.input_value_bytes, r.input_channels),
                                        *profile, model);
  });
}

}  // extern "C"
