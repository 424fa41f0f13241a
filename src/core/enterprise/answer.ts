// The fourth stage, as decisions: an enterprise-project question becomes the lookups to do (or a denial),
// then, once they are resolved, the decision. Decided here: `enterprise-project-required`,
// `enterprise-project-unresolved`, `enterprise-project-error`, `malformed-body` / `malformed-query` (EP
// sources), and `missing-action` / `explicit-deny` / `granted` within the touched enterprise projects.
import { allowDecision, denyDecision, type Decision, type DenyDecision, type DenyExtras, type DenyReason } from '../decision/decision.js'
import type { CrossProjectRule } from '../request/cross-project.js'
import {
  enterpriseProjectTargets, judgeEnterpriseProjects,
  type BodyReading, type EnterpriseProjectQuestion, type EnterpriseProjectResolution, type ReadyTargets
} from './enterprise.js'

export interface EnterpriseStage {
  /** The EPs a question's request names and the lookups to do (or a denial: malformed body, EP required). */
  targets (question: EnterpriseProjectQuestion, body: BodyReading | undefined): ReadyTargets | DenyDecision
  /** The decision once every lookup is resolved. */
  answer (question: EnterpriseProjectQuestion, targets: ReadyTargets, resolutions: readonly EnterpriseProjectResolution[]): Decision
  /** A denial of the question (e.g. `enterprise-project-unresolved` where no lookup can run). */
  refuse (question: EnterpriseProjectQuestion, reason: DenyReason, extras: DenyExtras): DenyDecision
}

export function compileEnterpriseStage (now: () => number, guardCrossProject: CrossProjectRule): EnterpriseStage {
  function refuse (question: EnterpriseProjectQuestion, reason: DenyReason, extras: DenyExtras): DenyDecision {
    // The question carries its route and params: it is the match.
    const { method, path, family } = question
    return denyDecision(reason, method, path, family, { ...extras, matched: question, userId: question.grant.userId })
  }
  return {
    targets (question, body) {
      const targets = enterpriseProjectTargets(question, body)
      return targets.kind === 'targets' ? targets : refuse(question, targets.reason, { detail: targets.detail })
    },
    answer (question, targets, resolutions) {
      const verdict = judgeEnterpriseProjects(question, targets, resolutions, now)
      if (verdict.kind === 'deny') {
        const { detail, missing, action, facts } = verdict
        return refuse(question, verdict.reason, { detail, missing, action, enterpriseProjects: facts })
      }
      const allow = allowDecision('granted', question.method, question.path, question, question.grant.userId)
      const judged = { ...allow, enterpriseProjects: verdict.facts }
      return guardCrossProject(judged, question.url, question.query, question.grant, question.family)
    },
    refuse
  }
}
