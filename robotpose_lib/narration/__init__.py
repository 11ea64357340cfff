"""Measured figures -> sentences and Markdown tables: what the chapters write about a number.

Every function here takes figures that were measured or read elsewhere (``eval/``,
``scorecard``, ``cards``) and returns text; nothing here loads a model, renders a scene or
measures. Chapters call these, draw (``viz/``) and show. One module a chapter; this package
re-exports every public name, so ``narration.X`` works for each:

* ``tables.py``: :func:`markdown_table` (rows of numbers as a Markdown table; chapters display
  tables as tables, never as monospaced text) and the instance models' names
  (``ONEPASS_NAMES``), which several chapters share.
* ``synthetic.py``, chapter 1: :func:`describe_mesh_agreement`,
  :func:`describe_training_distribution`, :func:`describe_render_rates`; its verdict box text
  (:func:`renderer_verdict`).
* ``localization.py``, chapter 2: :func:`localization_tables`, :func:`describe_localization`
  (Fig. 6, the peak finders, Table I), :func:`localization_card_comparison` (a model's record
  against the chapter's report), the live run, the depth weight, the stage maps, the toy
  depth runs and the errors on real photos (:func:`describe_real_photo_errors`).
* ``instances.py``, chapter 3: the rule for the scenes its step-by-step figure shows
  (:func:`chosen_masks_rule`), the toy and its seed sweep, the steps, COCO AP and counting,
  the record against the chapter, the instance stage's runtime, the logs, the summary
  (:func:`instances_summary`).
* ``decoding.py``, chapter 4: :func:`report3d_table`, :func:`describe_wrong_robot`,
  :func:`describe_chains` (robot k named by its colour, ``TAB10_NAMES``),
  :func:`describe_coverage`, :func:`describe_perfect_decoding`,
  :func:`describe_predicted_counts`, :func:`compare_peak_finders_3d`,
  :func:`describe_shown_pair`, Table II (:func:`table_ii_markdown`, :func:`describe_table_ii`,
  :func:`table_ii_conditions`), the explore panel (:func:`scene_title`,
  :func:`describe_explored_scenes`); its verdict box text (:func:`runtime_verdict`).
* ``real.py``, chapter 5: :func:`real_photos_absent` (the line a chapter, 1 and 2 too, shows
  instead of a real-photo figure when the photos are not on the machine),
  :func:`photos_or_absent`, the real-photo table and baseline sentence
  (:func:`real_metrics_table`, :func:`beats_baseline`), the sim-to-real study
  (:func:`sim2real_counting`); the mesh Panda model (:func:`real_comparison_table`,
  :func:`describe_mesh_real`, the twin ladder: :func:`ladder_table`, :func:`describe_ladder`,
  :func:`describe_ladder_photos`; the recipe choice in brief: :func:`recipe_choice_in_brief`;
  chapter 7's studies of the mesh Panda: :func:`describe_backbone_studies`, :func:`describe_recipe_choice`).
* ``beyond.py``, chapters 6 and 7: :func:`describe_real_study`, :func:`describe_depth_study`
  (with the table's ``DEPTH_STUDY_COLUMNS``, ``DEPTH_STUDY_FORMATS`` and ``DEPTH_STUDY_HEADERS``),
  :func:`describe_onepass_comparison` with :func:`instance_training_budgets`,
  :func:`describe_instance_runtimes`, :func:`describe_train_bench`, the open problems
  (:func:`open_problems`, :func:`depth_next_step`); its verdict box text
  (:func:`onepass_verdict` with :func:`instance_budgets`).
* ``overview.py``, the introduction and the scorecard: :func:`chosen_scene_rule` (how a shown
  scene was chosen; chapters 2 and 4 too), :func:`scorecard_markdown` (the scorecard's table),
  :func:`rules_text` (its verdict rules), :func:`scorecard_summary`, :func:`decoding_text`
  (the one-pass decoding a figure was measured with), and :func:`verdict_box` (the box every
  chapter opens with).

Submodules import what they need from each other, never from this package.
"""
from .beyond import (DEPTH_STUDY_COLUMNS, DEPTH_STUDY_FORMATS, DEPTH_STUDY_HEADERS, depth_next_step,
                     depth_study_against_card, describe_depth_study, describe_instance_runtimes,
                     describe_onepass_comparison, describe_real_study, describe_train_bench, instance_budgets,
                     instance_training_budgets, onepass_verdict, open_problems)
from .decoding import (TAB10_NAMES, camera_ranges, coinciding_chains, compare_peak_finders_3d, pipeline_in_use,
                       describe_chains, describe_coverage, describe_explored_scenes,
                       describe_perfect_decoding, describe_predicted_counts, describe_shown_pair,
                       describe_table_ii, describe_wrong_robot, report3d_table, runtime_verdict, scene_title,
                       table_ii_conditions, table_ii_markdown)
from .instances import (SWEEP_COLUMNS, chosen_masks_rule, describe_assignment, describe_canvas, describe_test_counts,
                        describe_coco_ap, describe_counting, describe_eos_errors, describe_heavy_eos,
                        describe_instance_runtime, describe_log_noise, describe_step_activation,
                        describe_step_counts, describe_step_purity, describe_toy_counts, describe_toy_steps,
                        describe_toy_sweep, describe_unstopped_runs, instance_record_comparison,
                        instances_summary, seed_effect, shown_count)
from .localization import (describe_backbone_comparison, describe_depth_weight, describe_intermediate_supervision,
                           describe_live_run, describe_reference_settings, describe_training_phases, phase_changes,
                           describe_localization,
                           describe_real_photo_errors, describe_stage_maps, describe_toy_depth,
                           describe_toy_setup,
                           localization_card_comparison, localization_tables)
from .overview import (chosen_scene_rule, decoding_text, describe_shown_outcome, rules_text, scorecard_markdown,
                       scorecard_summary,
                       verdict_box)
from .real import (HEADLINE_FIGURES, LADDER_DROP, LADDER_RUNGS, REAL_COLUMNS, REAL_ROWS, RUNG_NAMES, SAME_AUC,
                   auc_rules, beats_baseline, describe_backbone_studies, describe_ladder, describe_ladder_photos,
                   describe_mesh_real, describe_recipe_choice, ladder_table, one_run_rule, photos_or_absent,
                   recipe_choice_in_brief, recipe_table, real_comparison_table, real_metrics_table, real_photos_absent,
                   sim2real_counting)
from .synthetic import (describe_mesh_agreement, describe_render_rates, describe_scene_presets,
                        describe_training_distribution, renderer_verdict)
from .tables import ONEPASS_NAMES, count_noun, join_words, markdown_table, provenance_note, trained_on

__all__ = [
    "ONEPASS_NAMES", "markdown_table", "count_noun", "join_words", "provenance_note", "trained_on",
    "describe_mesh_agreement",
    "renderer_verdict",
    "describe_training_distribution", "describe_render_rates", "describe_scene_presets",
    "localization_tables", "describe_localization",
    "localization_card_comparison", "describe_backbone_comparison", "describe_live_run", "describe_depth_weight",
    "describe_intermediate_supervision", "describe_training_phases", "describe_reference_settings", "phase_changes",
    "describe_stage_maps",
    "describe_toy_depth", "describe_toy_setup", "describe_real_photo_errors", "chosen_masks_rule", "shown_count",
    "describe_assignment", "describe_toy_counts", "describe_toy_steps", "describe_step_counts",
    "describe_step_activation", "describe_step_purity", "describe_canvas", "describe_coco_ap",
    "describe_test_counts",
    "describe_counting", "instance_record_comparison", "describe_instance_runtime", "describe_log_noise",
    "describe_unstopped_runs", "describe_eos_errors", "SWEEP_COLUMNS", "seed_effect", "describe_toy_sweep",
    "describe_heavy_eos", "instances_summary", "report3d_table", "describe_wrong_robot", "TAB10_NAMES",
    "describe_chains", "describe_coverage", "coinciding_chains", "camera_ranges", "pipeline_in_use",
    "describe_perfect_decoding",
    "describe_predicted_counts", "compare_peak_finders_3d", "describe_shown_pair", "table_ii_markdown",
    "describe_table_ii", "table_ii_conditions", "runtime_verdict", "scene_title", "describe_explored_scenes",
    "real_photos_absent", "REAL_ROWS", "real_metrics_table", "HEADLINE_FIGURES", "beats_baseline",
    "photos_or_absent", "sim2real_counting", "REAL_COLUMNS", "real_comparison_table", "describe_mesh_real",
    "LADDER_RUNGS", "ladder_table", "LADDER_DROP", "describe_ladder", "RUNG_NAMES", "describe_ladder_photos",
    "describe_backbone_studies", "describe_recipe_choice", "recipe_choice_in_brief", "one_run_rule", "SAME_AUC",
    "auc_rules",
    "recipe_table", "instance_training_budgets", "describe_real_study",
    "describe_depth_study", "DEPTH_STUDY_COLUMNS", "DEPTH_STUDY_FORMATS", "DEPTH_STUDY_HEADERS",
    "depth_study_against_card",
    "describe_onepass_comparison", "describe_instance_runtimes",
    "describe_train_bench", "depth_next_step", "open_problems", "instance_budgets", "onepass_verdict",
    "rules_text", "decoding_text", "describe_shown_outcome", "scorecard_markdown", "chosen_scene_rule",
    "scorecard_summary",
    "verdict_box",
]
