// The output of an encoder for one slice: the unified state embedding and
// per-entity embeddings (root cause localisation). Plain data, no torch, so
// tuning, tasks and evaluation can be written and tested without libtorch.
#pragma once

#include <cstdint>
#include <vector>

#include "telemetry/record.h"
#include "slice/slice.h"

namespace rslicer {

struct SliceEmbedding {
  std::int64_t index = 0;  // Slice::index
  TimeUs start = 0;
  TimeUs end = 0;
  ModalityMask mask;
  std::vector<std::uint32_t> faults;   // Slice::faults (indices into the dataset's fault list)
  std::vector<float> state;            // [dim] unified state embedding, L2-normalised
  // [3 * P] the modalities' encodings under the projections that the contrastive losses align (EncoderOutput::
  // encodings): each modality's row L2-normalised, zeros where the slice lacks it, the whole L2-normalised; empty
  // from an encoder without them. The AD kNN reads them (HeadOptions::ad_layer).
  std::vector<float> encodings;
  std::vector<Id> entities;            // entities that have their own embedding (catalog ids)
  std::vector<float> entity_embeddings;  // [entities.size() * entity_dim]; row i belongs to entities[i]
  std::int32_t entity_dim = 0;
  std::vector<float> entity_scores;    // [entities.size()] root-cause logit of each entity from the encoder's entity
                                       // head (L_entity), empty when the model has none
  // The same per modality: [entities.size() * 3 * entity_dim], row (i, m) is the mean over entity i's tokens
  // of modality m (zeros where it has none; entity_modality_mask [entities.size() * 3] says which).
  std::vector<float> entity_modality_embeddings;
  std::vector<std::uint8_t> entity_modality_mask;
};

}  // namespace rslicer
