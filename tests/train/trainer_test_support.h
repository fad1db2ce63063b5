// trainer_test_support.h - what the trainer's tests share: a trainer made
// from a model and the options a test varies, REQUIRE'd to exist.
#ifndef M2U_TESTS_TRAIN_TRAINER_TEST_SUPPORT_H
#define M2U_TESTS_TRAIN_TRAINER_TEST_SUPPORT_H

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "trainer.h"

namespace trainer_test {

inline std::unique_ptr<m2u::Trainer> create_trainer(const m2u::Model& model, int batch, int height, int width,
                                                    m2u::TrainSchedule schedule,
                                                    const m2u::OptimizerSettings& optimizer,
                                                    m2u::TrainLoss loss) {
  m2u::TrainerOptions options;
  options.max_batch = batch;
  options.max_height = height;
  options.max_width = width;
  options.schedule = schedule;
  options.optimizer = optimizer;
  options.loss = loss;
  m2u_status status;
  std::string error;
  std::unique_ptr<m2u::Trainer> trainer = m2u::Trainer::create(model, options, &status, &error);
  REQUIRE_MESSAGE(trainer, error);
  return trainer;
}

}  // namespace trainer_test

#endif  // M2U_TESTS_TRAIN_TRAINER_TEST_SUPPORT_H
